import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteMetadataStore } from "@keel/metadata";
import { metadataStoreSuite } from "./metadata-store.suite";

metadataStoreSuite(
  "SQLite on disk",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "keel-sqlite-"));
    const store = new SqliteMetadataStore({ path: join(dir, "metadata.sqlite") });
    return {
      store,
      close: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  "sqlite",
);
