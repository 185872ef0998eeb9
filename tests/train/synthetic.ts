import { writeFile } from "node:fs/promises";
import { type Dataset, Random } from "@keel/train";
import { parquetWriteBuffer } from "hyparquet-writer";

/**
 * A seeded synthetic problem with interactions and a non-linearity, so trees have something
 * to find that a linear model cannot: y = 1 when a noisy score crosses a threshold
 * (classification) or the score itself (regression).
 */
export function syntheticData(
  n: number,
  F: number,
  seed: number,
  kind: "binary" | "regression" = "binary",
): Dataset {
  const rng = new Random(seed);
  const columns = Array.from({ length: F }, () => {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = rng.next() * 10 - 5;
    return c;
  });
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = columns[0][i] + 0.3 * columns[1][i] * columns[2 % F][i] + 2 * Math.sin(columns[3 % F][i]);
    label[i] = kind === "binary" ? (s + rng.next() * 2 - 1 > 0.5 ? 1 : 0) : s + rng.next() * 0.1;
  }
  return { features: columns.map((_, f) => `f${f}`), columns, label };
}

/** Writes a synthetic set as Parquet (DOUBLE features, BOOLEAN label named `label`) to `path`. */
export async function writeSyntheticParquet(path: string, d: Dataset, label = "y"): Promise<void> {
  const bytes = parquetWriteBuffer({
    columnData: [
      ...d.features.map((name, f) => ({ name, data: Array.from(d.columns[f]), type: "DOUBLE" as const })),
      { name: label, data: Array.from(d.label, (y) => y === 1), type: "BOOLEAN" as const },
    ],
  });
  await writeFile(path, new Uint8Array(bytes));
}
