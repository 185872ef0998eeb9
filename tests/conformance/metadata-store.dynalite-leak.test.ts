import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDbMetadataStore, startDynalite } from "@keel/metadata";
import { describe, expect, it } from "vitest";

// dynalite 4.0.0 left the LevelDB iterator behind every Query open (issue 19); the thread that
// runs dynalite now gives abstract-level's iterators the return() dynalite calls to close them.
describe("dynalite on disk closes the iterator behind each Query and Scan", () => {
  it("3,000 Queries leave a bounded number of LevelDB iterators open", async () => {
    const dir = await mkdtemp(join(tmpdir(), "keel-dynalite-leak-"));
    const server = await startDynalite({ path: join(dir, "dynamodb"), thread: true });
    const store = new DynamoDbMetadataStore({ table: "leak", endpoint: server.endpoint });
    try {
      await store.ensureTable();
      await store.batchPut(
        Array.from({ length: 40 }, (_, i) => ({
          pk: `p${i % 4}`,
          sk: String(i).padStart(3, "0"),
          gsi1pk: "all",
          gsi1sk: String(i),
        })),
      );
      const before = await server.iteratorStats();
      const queries = 3000;
      const inFlight = 16;
      for (let i = 0; i < queries; i += inFlight) {
        await Promise.all(
          Array.from({ length: inFlight }, (_, j) =>
            // Base-table and index Queries, whole partitions and partial pages (limit).
            (i + j) % 2
              ? store.query({ pk: `p${(i + j) % 4}`, limit: 3 })
              : store.query({ pk: "all", index: "gsi1", limit: 5 }),
          ),
        );
      }
      const after = await server.iteratorStats();
      expect(after.created - before.created).toBeGreaterThanOrEqual(queries);
      expect(after.open).toBeLessThanOrEqual(before.open + inFlight);
    } finally {
      await store.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
