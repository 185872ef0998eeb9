import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LanceDbVectorStore } from "@keel/rag";
import { vectorStoreSuite } from "./vector-store.suite";

vectorStoreSuite("LanceDB (local folder)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-lance-"));
  const store = new LanceDbVectorStore(dir);
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
