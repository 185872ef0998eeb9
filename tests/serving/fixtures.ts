import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildMlp, type MlpSpec } from "../../bench/serving-onnx-mlp";

/** A small MLP (4 -> 8 -> 2) whose versions differ by an output offset (version n adds n). */
export const SMALL: MlpSpec = { widths: [4, 8, 2], seed: 7 };

export const specFor = (version: number): MlpSpec => ({ ...SMALL, outputOffset: version });

export const smallConfig = (name: string, extra = "") => `
name: "${name}"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "input", data_type: TYPE_FP32, dims: [ 4 ] } ]
output [ { name: "output", data_type: TYPE_FP32, dims: [ 2 ] } ]
${extra}
`;

/** A temporary Triton-layout repository; `add` writes a model's config and versions. */
export function tempRepository() {
  const root = mkdtempSync(join(tmpdir(), "keel-repo-"));
  return {
    root,
    add(name: string, config: string, versions: number[]) {
      mkdirSync(join(root, name), { recursive: true });
      writeFileSync(join(root, name, "config.pbtxt"), config);
      for (const v of versions) {
        mkdirSync(join(root, name, String(v)), { recursive: true });
        writeFileSync(join(root, name, String(v), "model.onnx"), buildMlp(specFor(v)));
      }
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A v2 request for `rows` rows of the small model. */
export function rowsRequest(rows: number[][], id?: string) {
  return {
    ...(id ? { id } : {}),
    inputs: [{ name: "input", datatype: "FP32" as const, shape: [rows.length, 4], data: rows }],
  };
}

/** A loopback URL nobody listens on (a port just released), so connections are refused. */
export async function closedUrl(): Promise<string> {
  const { createServer } = await import("node:net");
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/** Serves a Hono app on a loopback port; `close` stops accepting and waits for open requests. */
export async function listen(app: { fetch: (req: Request) => Response | Promise<Response> }) {
  const { serve } = await import("@hono/node-server");
  const http = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((r) => http.once("listening", () => r()));
  const { port } = http.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => http.close(() => r())) };
}
