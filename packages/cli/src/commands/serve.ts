import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { installErrorHandling } from "@keel/core";
import {
  ModelServer,
  mountInferenceRoutes,
  mountMetricsRoute,
  mountRepositoryRoutes,
  serverApi,
} from "@keel/serving";
import { Hono } from "hono";
import { command, UsageError } from "../command";

/**
 * `keel serve`: Keel's model server alone (no platform): a Triton-layout repository served
 * over the Open Inference Protocol, with Triton's repository API and /metrics. The same
 * repository serves unchanged on Triton.
 */
export const serveCommand = command({
  name: "serve",
  summary: "serve a Triton-layout ONNX model repository over the KServe v2 protocol",
  usage:
    "keel serve --model-repository <dir> [--port 8000] [--host 127.0.0.1] [--provider cpu|webgpu] [--threads N] [--max-queue N] [--max-body-bytes N]",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        "model-repository": { type: "string" },
        port: { type: "string", default: "8000" },
        host: { type: "string", default: "127.0.0.1" },
        provider: { type: "string", default: "cpu" },
        threads: { type: "string", default: "0" },
        "max-queue": { type: "string", default: "1024" },
        "max-body-bytes": { type: "string", default: String(32 * 1024 * 1024) },
      },
    });
    const repository = values["model-repository"];
    if (!repository) throw new UsageError("--model-repository is required");
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port must be 0..65535, got ${values.port}`);
    if (values.provider !== "cpu" && values.provider !== "webgpu")
      throw new UsageError(`--provider must be cpu or webgpu, got ${values.provider}`);
    const ints = (flag: string, v: string, min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min)
        throw new UsageError(`${flag} must be an integer >= ${min}, got ${v}`);
      return n;
    };
    const server = new ModelServer({
      repository: resolve(repository),
      provider: values.provider,
      intraOpNumThreads: ints("--threads", values.threads, 0),
      maxQueueSize: ints("--max-queue", values["max-queue"], 1),
    });
    let ready = false;
    const app = new Hono();
    installErrorHandling(app);
    mountInferenceRoutes(app, serverApi(server), {
      maxBodyBytes: ints("--max-body-bytes", values["max-body-bytes"], 1),
      serverReady: () => ready,
    });
    mountRepositoryRoutes(app, server);
    mountMetricsRoute(app, server.metrics);
    console.log(`loading models from ${resolve(repository)} (${values.provider})…`);
    await server.loadRepository();
    for (const e of await server.index()) {
      console.log(
        `  ${e.name.padEnd(24)} ${(e.version ?? "-").padEnd(6)} ${e.state}${e.reason ? `: ${e.reason}` : ""}`,
      );
    }
    const http = serve({ fetch: app.fetch, port, hostname: values.host });
    await new Promise<void>((r, reject) => {
      http.once("listening", () => r());
      http.once("error", reject);
    });
    ready = true;
    const bound = (http.address() as AddressInfo).port;
    console.log(
      `Keel model server ready at http://${values.host}:${bound}  (v2 API: /v2, metrics: /metrics)`,
    );
    const stop = async (signal: string) => {
      console.log(`\n${signal}: stopping…`);
      ready = false;
      await new Promise<void>((r) => http.close(() => r()));
      await server.close();
      process.exit(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
    await new Promise(() => {});
    return 0;
  },
});
