import { type AsyncBuffer, parquetMetadataAsync, parquetSchema } from "hyparquet";
import type { Column } from "./engine";

/**
 * The Hive (Glue) column types of a Parquet file, from its footer alone: what an Athena
 * external table over it declares. Nested columns and types Athena cannot map are left out
 * (Athena matches Parquet columns by name, so the others still read).
 */
export async function parquetHiveColumns(file: AsyncBuffer): Promise<Column[]> {
  const meta = await parquetMetadataAsync(file);
  const out: Column[] = [];
  for (const c of parquetSchema(meta).children) {
    if (c.children.length) continue;
    const el = c.element;
    const logical = el.logical_type?.type;
    const conv = el.converted_type;
    let type: string | undefined;
    if (logical === "TIMESTAMP" || conv?.startsWith("TIMESTAMP")) type = "timestamp";
    else if (logical === "DATE" || conv === "DATE") type = "date";
    else if (logical === "DECIMAL" || conv === "DECIMAL")
      type = `decimal(${el.precision ?? 38},${el.scale ?? 0})`;
    else if (logical === "STRING" || conv === "UTF8" || el.type === "BYTE_ARRAY") type = "string";
    else if (conv === "INT_8") type = "tinyint";
    else if (conv === "INT_16") type = "smallint";
    else if (el.type === "INT64") type = "bigint";
    else if (el.type === "INT32") type = "int";
    else if (el.type === "DOUBLE") type = "double";
    else if (el.type === "FLOAT") type = "float";
    else if (el.type === "BOOLEAN") type = "boolean";
    if (type) out.push({ name: el.name, type });
  }
  return out;
}
