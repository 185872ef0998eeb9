import { join } from "node:path";

/** Where a data dir keeps the metadata store, and where older versions kept everything (dynalite). */
export const localPaths = (dataDir: string) => ({
  sqlite: join(dataDir, "metadata.sqlite"),
  dynalite: join(dataDir, "dynamodb"),
});

export interface MigrationReport {
  items: number;
  /** The dynalite folder as it was before the migration. */
  backup: string;
  /** Other tables (the online feature store) carried over into the new dynalite folder. */
  carried: string[];
}
