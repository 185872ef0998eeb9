import { DynamoDbMetadataStore, type MetadataStore, startDynalite } from "@keel/metadata";
import { afterAll, beforeAll } from "vitest";

/** A fresh in-memory dynalite and a store on a fresh table, for one test file. */
export async function freshMetadataStore(table = `t${Math.random().toString(36).slice(2, 10)}`) {
  const server = await startDynalite();
  const store = new DynamoDbMetadataStore({ table, endpoint: server.endpoint });
  await store.ensureTable();
  return {
    store,
    endpoint: server.endpoint,
    close: async () => {
      await store.close();
      await server.close();
    },
  };
}

/**
 * A fresh store for the calling test file: made before its tests (handed to `use`), closed
 * after them.
 */
export function freshStoreForFile(use: (store: MetadataStore) => void): void {
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const fresh = await freshMetadataStore();
    use(fresh.store);
    close = fresh.close;
  });
  afterAll(async () => close?.());
}
