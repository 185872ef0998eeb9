import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDbOfflineStore } from "@keel/features";
import { readParquetRows, rowsToParquetFile } from "../features/helpers/parquet";
import { offlineStoreSuite } from "./offline-store.suite";

offlineStoreSuite("DuckDB over local Parquet (s3:// mapped to a local root)", async () => {
  const root = mkdtempSync(join(tmpdir(), "keel-offline-"));
  const store = new DuckDbOfflineStore({ root });
  let n = 0;
  return {
    store,
    async source(name, columns, rows, extra) {
      // Half the sources live under s3:// URIs, to check the local mapping.
      const s3 = ++n % 2 === 0;
      const path = s3 ? `s3://lake/${name}-${n}/` : `${join(root, `${name}-${n}`)}/`;
      const dir = store.localPath(path);
      mkdirSync(dir, { recursive: true });
      rowsToParquetFile(join(dir, "part-0.parquet"), columns, rows);
      return {
        kind: "file_source",
        name,
        path,
        timestampField: "event_timestamp",
        description: "",
        tags: {},
        ...extra,
      };
    },
    async entityFile(columns, rows) {
      const file = join(root, `entities-${++n}.parquet`);
      rowsToParquetFile(file, columns, rows);
      return file;
    },
    outPath: () => join(root, `out-${++n}`, "training.parquet"),
    readOut: (path) => readParquetRows(path),
    async close() {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
});
