/**
 * The server side of bench/serving.ts, in its own process so the load generator does not
 * share its event loop: the serving module (model server + router) over an in-memory
 * dynalite, on a loopback port. Usage: serving-server.ts <repository> [provider] [intra-op threads]
 * Prints "READY <port>" once every model is loaded.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { StoreAuditLog } from "@keel/audit";
import { createLogger, installErrorHandling, loadConfig, systemClock } from "@keel/core";
import { DynamoDbMetadataStore, startDynalite } from "@keel/metadata";
import { createServingModule, type ExecutionProvider } from "@keel/serving";
import { Hono } from "hono";

const [repository, provider = "cpu", threads = "0"] = process.argv.slice(2);
const dynalite = await startDynalite();
const store = new DynamoDbMetadataStore({ table: "bench", endpoint: dynalite.endpoint });
await store.ensureTable();
const module = createServingModule(
  {
    config: { core: { dataDir: repository, stage: "local" }, serving: loadConfig({}).serving },
    store,
    artifacts: { getBytes: async () => Buffer.alloc(0) },
    audit: new StoreAuditLog(store, systemClock),
    clock: systemClock,
    log: createLogger("warn"),
  },
  {
    modelServer: { repository, provider: provider as ExecutionProvider, intraOpNumThreads: Number(threads) },
  },
);
const app = new Hono();
installErrorHandling(app);
module.routes(app);
await module.start();
// The router bench calls the small model through a deployment (sample_rate 0: no prediction log here).
await module.service.deployments.create({
  name: "small-dep",
  model: "small_batched",
  version: "1",
  sample_rate: 0,
});
const http = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
http.once("listening", () => console.log(`READY ${(http.address() as AddressInfo).port}`));
const stop = async () => {
  http.close();
  await module.stop();
  await store.close();
  await dynalite.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
