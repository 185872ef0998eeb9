import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { artifactPartQuery, mount, artifactRoutes as r } from "@keel/contract";
import { parseWith } from "@keel/core";
import type { Context, Hono } from "hono";
import { ArtifactError } from "./errors";
import type { ArtifactStore } from "./port";
import { type ArtifactAudit, type ArtifactLockPort, ArtifactProxyService } from "./proxy-service";

export interface ArtifactsModuleDeps {
  artifacts: ArtifactStore;
  /** Records every artifact write and delete when given (the platform passes its AuditLog). */
  audit?: ArtifactAudit;
  /** Locked prefixes (registered versions' files), refused for every write and delete. */
  locks?: ArtifactLockPort;
}

const BASE = "/api/2.0/mlflow-artifacts";

/**
 * MLflow's artifact proxy API, as `mlflow server --serve-artifacts` exposes it, so the
 * official client works with `mlflow-artifacts:/<experiment>/<run>/artifacts/...` URIs.
 * Handlers only translate HTTP to ArtifactProxyService calls.
 */
export function createArtifactsModule(deps: ArtifactsModuleDeps) {
  const service = new ArtifactProxyService(deps.artifacts, deps.audit, deps.locks);
  return {
    name: "artifacts",
    routes(app: Hono) {
      mount(app, r.list, async ({ query }) => service.list(query.path));
      mount(app, r.download, async (_, c) => {
        const { body, headers } = await service.download(tail(c, `${BASE}/artifacts/`));
        return c.body(Readable.toWeb(body) as ReadableStream, 200, headers);
      });
      mount(app, r.upload, async ({ query }, c) => {
        const path = tail(c, `${BASE}/artifacts/`);
        // A part sent to a credential URL from mpu/create; anything else is a whole-file upload.
        if (query.upload_id !== undefined || query.part_number !== undefined) {
          const part = parseWith(artifactPartQuery, query, "query");
          const etag = await service.uploadPart(path, part.upload_id, part.part_number, requestStream(c));
          c.header("ETag", etag);
          return {};
        }
        await service.upload(path, requestStream(c), c.req.header("content-type"));
      });
      mount(app, r.delete, async (_, c) => {
        await service.delete(tail(c, `${BASE}/artifacts/`));
      });
      mount(app, r.createMultipartUpload, async ({ body }, c) => {
        const origin = new URL(c.req.url).origin;
        const auth = c.req.header("authorization");
        return service.createMultipartUpload(
          tail(c, `${BASE}/mpu/create/`),
          body.path,
          body.num_parts,
          (target, uploadId, n) =>
            `${origin}${BASE}/artifacts/${encodePath(target)}?upload_id=${encodeURIComponent(uploadId)}&part_number=${n}`,
          auth ? { Authorization: auth } : {},
        );
      });
      mount(app, r.completeMultipartUpload, async ({ body }, c) => {
        await service.completeMultipartUpload(
          tail(c, `${BASE}/mpu/complete/`),
          body.path,
          body.upload_id,
          body.parts,
        );
      });
      mount(app, r.abortMultipartUpload, async ({ body }, c) => {
        await service.abortMultipartUpload(tail(c, `${BASE}/mpu/abort/`), body.path, body.upload_id);
      });
    },
  };
}

/**
 * The artifact path after `prefix`, percent-decoded as Flask does (so `%2F` is a separator
 * and `%2E%2E` is `..`, which the service then rejects).
 */
function tail(c: Context, prefix: string): string {
  const pathname = new URL(c.req.url).pathname;
  const raw = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : "";
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ArtifactError(
      "INVALID_PARAMETER_VALUE",
      `artifact path '${raw}' is not valid percent-encoding`,
    );
  }
}

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** The request body as a Node stream, read as it arrives (never buffered whole). */
function requestStream(c: Context): Readable | null {
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as NodeWebStream<Uint8Array>) : null;
}
