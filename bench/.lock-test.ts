import { startDynalite, DynamoDbMetadataStore } from "@keel/metadata";
const dir = `/tmp/locktest-${process.pid}`;
const a = await startDynalite({ path: dir });
const sa = new DynamoDbMetadataStore({ table: "keel", endpoint: a.endpoint }); await sa.ensureTable();
process.on("uncaughtException", (e) => { console.log("UNCAUGHT", e.message); });
try {
  const b = await startDynalite({ path: dir });
  console.log("second started");
  const s = new DynamoDbMetadataStore({ table: "keel", endpoint: b.endpoint, });
  try { await s.query({ pk: "AUDIT" }); console.log("query ok"); } catch (e) { console.log("query error:", (e as Error).name, (e as Error).message.slice(0, 300)); }
  await s.close(); await b.close();
} catch (e) { console.log("start error:", (e as Error).message.slice(0, 200)); }
await sa.close(); await a.close();
