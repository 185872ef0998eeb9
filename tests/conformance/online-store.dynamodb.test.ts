import { DynamoDbOnlineStore } from "@keel/features";
import { startDynalite } from "@keel/metadata";
import { onlineStoreSuite } from "./online-store.suite";

onlineStoreSuite("DynamoDB on dynalite", async () => {
  const server = await startDynalite();
  const store = new DynamoDbOnlineStore({
    table: "keel-online",
    endpoint: server.endpoint,
    manageTable: true,
  });
  return {
    store,
    close: async () => {
      await store.close();
      await server.close();
    },
  };
});
