import { Readable } from "node:stream";
import type { ArtifactProxyService } from "@keel/artifacts";
import { mount, mlflowAjaxRoutes as r } from "@keel/contract";
import type { Context, Hono } from "hono";
import { invalidParam, missingParam } from "./errors";
import { validatePathIsSafe } from "./path-safety";
import { createPromptlabRun } from "./promptlab-run";
import type { TrackingService } from "./service";

/** MLflow's cap on an upload through the UI (`upload_artifact_handler`). */
export const MAX_UI_UPLOAD_BYTES = 10 * 1024 * 1024;

export interface AjaxDeps {
  tracking: TrackingService;
  /** Artifact reads and writes go through the proxy, so locks and the audit log apply. */
  artifacts: Pick<ArtifactProxyService, "upload" | "download">;
  /** Where a registered model version's files live in the artifact store. */
  versionArtifactPath(name: string, version: string): Promise<string>;
  now(): number;
}

const runArtifacts = (run: { info: { experiment_id: string; run_id: string } }) =>
  `${run.info.experiment_id}/${run.info.run_id}/artifacts`;

/**
 * Reads a body of at most `max` bytes (a chunked one too), refusing more as MLflow words it.
 * Past the bound the rest is read and dropped, so the refusal reaches a client still sending.
 */
async function boundedBody(body: ReadableStream<Uint8Array> | null, max: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  }
  if (size > max) throw invalidParam("Artifact size is too large. Max size is 10MB.");
  return Buffer.concat(chunks);
}

async function send(c: Context, deps: AjaxDeps, path: string) {
  const { body, headers } = await deps.artifacts.download(path);
  return c.body(Readable.toWeb(body) as ReadableStream, 200, headers);
}

/** The MLflow UI's endpoints outside the protobuf service (`mlflow/server/__init__.py`). */
export function mountAjaxRoutes(app: Hono, deps: AjaxDeps): void {
  const { tracking } = deps;
  mount(app, r.getMetricHistoryBulk, ({ query }) => tracking.getMetricHistoryBulk(query));
  mount(app, r.searchDatasets, ({ body }) => tracking.searchDatasets(body.experiment_ids));
  mount(app, r.createPromptlabRun, ({ body }) =>
    createPromptlabRun(tracking, deps.artifacts, body, () => deps.now()),
  );
  mount(app, r.uploadArtifact, async ({ query }, c) => {
    if (!query.run_uuid) throw invalidParam("Request must specify run_uuid.");
    if (!query.path) throw invalidParam("Request must specify path.");
    const path = validatePathIsSafe(query.path);
    if (Number(c.req.header("content-length") ?? 0) > MAX_UI_UPLOAD_BYTES) {
      throw invalidParam("Artifact size is too large. Max size is 10MB.");
    }
    // A body something before the handler read (and Hono cached) is taken from that cache.
    const data = c.req.raw.bodyUsed
      ? await boundedBody(new Response(await c.req.arrayBuffer()).body, MAX_UI_UPLOAD_BYTES)
      : await boundedBody(c.req.raw.body, MAX_UI_UPLOAD_BYTES);
    if (data.length === 0) throw invalidParam("Request must specify data.");
    const { run } = await tracking.getRun(query.run_uuid);
    await deps.artifacts.upload(
      `${runArtifacts(run)}/${path}`,
      Readable.from([data]),
      c.req.header("content-type"),
    );
    return {};
  });
  mount(app, r.getArtifact, async ({ query }, c) => {
    if (query.path === undefined) throw missingParam("path");
    const path = validatePathIsSafe(query.path);
    const { run } = await tracking.getRun(query.run_id || query.run_uuid || "");
    return send(c, deps, `${runArtifacts(run)}/${path}`);
  });
  mount(app, r.getModelVersionArtifact, async ({ query }, c) => {
    if (query.path === undefined) throw missingParam("path");
    const path = validatePathIsSafe(query.path);
    const base = await deps.versionArtifactPath(query.name ?? "", query.version ?? "");
    return send(c, deps, `${base.replace(/\/+$/, "")}/${path}`);
  });
}
