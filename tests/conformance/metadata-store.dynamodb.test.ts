import { DynamoDbMetadataStore, startDynalite } from "@keel/metadata";
import { freshMetadataStore } from "../helpers/metadata";
import { metadataStoreSuite } from "./metadata-store.suite";

metadataStoreSuite("DynamoDB on dynalite", () => freshMetadataStore());

metadataStoreSuite(
  "DynamoDB on dynalite on its own thread",
  async () => {
    const server = await startDynalite({ thread: true });
    const store = new DynamoDbMetadataStore({ table: "threaded", endpoint: server.endpoint });
    await store.ensureTable();
    return {
      store,
      close: async () => {
        await store.close();
        await server.close();
      },
    };
  },
  "dynalite",
);
