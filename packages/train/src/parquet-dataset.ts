import { parquetMetadata, parquetRead, parquetSchema } from "hyparquet";
import type { Dataset } from "./dataset";
import { TrainError } from "./errors";

/**
 * Reads the named feature and label columns of a Parquet file into a columnar dataset.
 * Integers, big integers and booleans become float64; nulls are rejected (the trainers
 * have no missing-value handling, so a null is a data problem to fix upstream).
 */
export async function readParquetDataset(
  bytes: Uint8Array,
  label: string,
  features: string[],
): Promise<Dataset> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(file);
  } catch (e) {
    throw new TrainError(
      "INVALID_PARAMETER_VALUE",
      `training set is not a Parquet file: ${(e as Error).message}`,
      undefined,
      { cause: e },
    );
  }
  const available = parquetSchema(metadata).children.map((c) => c.element.name);
  const wanted = [...features, label];
  const missing = wanted.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    throw new TrainError(
      "INVALID_PARAMETER_VALUE",
      `training set has no column(s) ${missing.map((m) => `'${m}'`).join(", ")}; it has ${available.join(", ")}`,
    );
  }
  const n = Number(metadata.num_rows);
  const out = new Map(wanted.map((c) => [c, new Float64Array(n)]));
  await parquetRead({
    file,
    metadata,
    columns: wanted,
    onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
      const col = out.get(columnName);
      if (!col) return;
      for (let i = rowStart; i < rowEnd; i++) col[i] = toNumber(columnData[i - rowStart], columnName, i);
    },
  });
  return {
    features: [...features],
    columns: features.map((f) => out.get(f) as Float64Array),
    label: out.get(label) as Float64Array,
  };
}

function toNumber(v: unknown, column: string, row: number): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  throw new TrainError(
    "INVALID_PARAMETER_VALUE",
    `training set column '${column}' row ${row} is ${v === null || v === undefined ? "null" : typeof v}, not a number`,
  );
}
