import { existsSync } from "node:fs";
import { join } from "node:path";
import { localPaths } from "./local-paths";
import { SqliteMetadataStore } from "./sqlite-store";

export { localPaths, type MigrationReport } from "./local-paths";

/**
 * Opens the SQLite metadata store of a data dir. A data dir written by an older Keel keeps its
 * metadata in dynalite (LevelDB under `dynamodb/`): on first open every item of `table` is
 * scanned through the DynamoDB adapter and written into SQLite in one transaction, other tables
 * (the online feature store, still on dynalite) are copied into a fresh `dynamodb/`, and the old
 * folder is kept, renamed, as a backup. SQLite's file appears only once everything is copied,
 * so an interrupted migration simply runs again.
 */
export async function openLocalMetadataStore(
  dataDir: string,
  opts: { table: string; log?: (line: string) => void },
): Promise<SqliteMetadataStore> {
  const paths = localPaths(dataDir);
  if (!existsSync(paths.sqlite) && existsSync(join(paths.dynalite, "CURRENT"))) {
    // Loaded only to migrate: the DynamoDB SDK and dynalite cost ~0.5 s to load, which every
    // `keel` command opening a data dir would otherwise pay.
    const { migrateFromDynalite } = await import("./dynalite-migration");
    const r = await migrateFromDynalite(dataDir, opts.table);
    (opts.log ?? console.log)(
      `Migrated ${r.items} metadata items from dynalite to ${paths.sqlite}; the old store is kept in ${r.backup}` +
        (r.carried.length ? ` (tables ${r.carried.join(", ")} carried over to ${paths.dynalite})` : ""),
    );
  }
  return new SqliteMetadataStore({ path: paths.sqlite });
}
