import { CachedOnlineStore, DynamoDbOnlineStore } from "@keel/features";
import { startDynalite } from "@keel/metadata";
import { onlineStoreSuite } from "./online-store.suite";

/** `keel dev`'s online store: DynamoDB on dynalite behind the read-through cache; same contract. */
onlineStoreSuite("DynamoDB on dynalite behind the read cache", async () => {
  const server = await startDynalite();
  const store = new CachedOnlineStore(
    new DynamoDbOnlineStore({ table: "keel-online", endpoint: server.endpoint, manageTable: true }),
  );
  return {
    store,
    close: async () => {
      await store.close();
      await server.close();
    },
  };
});
