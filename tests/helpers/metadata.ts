import { DynamoDbMetadataStore, startDynalite } from "@keel/metadata";

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
