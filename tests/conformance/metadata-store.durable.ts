import { join } from "node:path";
import {
  DynamoDbMetadataStore,
  type MetadataStore,
  SqliteMetadataStore,
  startDynalite,
} from "@keel/metadata";

export type DurableKind = "sqlite" | "dynalite";

/** Opens a store kept in `dir`, the way the local platform keeps one on its data dir. */
export async function openDurableStore(
  kind: DurableKind,
  dir: string,
): Promise<{ store: MetadataStore; close: () => Promise<void> }> {
  if (kind === "sqlite") {
    const store = new SqliteMetadataStore({ path: join(dir, "metadata.sqlite") });
    return { store, close: () => store.close() };
  }
  const server = await startDynalite({ path: join(dir, "dynamodb"), thread: true });
  const store = new DynamoDbMetadataStore({ table: "durable", endpoint: server.endpoint });
  await store.ensureTable();
  return {
    store,
    close: async () => {
      await store.close();
      await server.close();
    },
  };
}

/** A payload whose length and content check each other, so a torn item is detectable. */
export function payloadFor(i: number): string {
  return `${i}:`.padEnd(50 + ((i * 7919) % 3000), String.fromCharCode(97 + (i % 26)));
}
