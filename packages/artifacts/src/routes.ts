import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { jsonBody, parseWith, queryObject } from "@keel/core";
import type { Context, Hono } from "hono";
import { z } from "zod";
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

/** MLflow's `_assert_intlike`: a JSON integer or a string of one. */
const intLike = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/, "expected an integer")
    .transform(Number),
]);

const createBody = z.object({ path: z.string().min(1), num_parts: intLike.default(1) });
const completeBody = z.object({
  path: z.string().min(1),
  upload_id: z.string().min(1),
  parts: z.array(z.object({ part_number: intLike, etag: z.string(), url: z.string().nullish() })).min(1),
});
const abortBody = z.object({ path: z.string().min(1), upload_id: z.string().min(1) });
const listQuery = z.object({ path: z.string().optional() });
const partQuery = z.object({ upload_id: z.string().min(1), part_number: intLike });

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
      app.get(`${BASE}/artifacts`, async (c) => {
        const q = parseWith(listQuery, queryObject(c), "query");
        return c.json(await service.list(q.path));
      });

      app.get(`${BASE}/artifacts/*`, async (c) => {
        const { body, headers } = await service.download(tail(c, `${BASE}/artifacts/`));
        return c.body(Readable.toWeb(body) as ReadableStream, 200, headers);
      });

      app.put(`${BASE}/artifacts/*`, async (c) => {
        const path = tail(c, `${BASE}/artifacts/`);
        const q = queryObject(c);
        // A part sent to a credential URL from mpu/create; anything else is a whole-file upload.
        if (q.upload_id !== undefined || q.part_number !== undefined) {
          const part = parseWith(partQuery, q, "query");
          const etag = await service.uploadPart(path, part.upload_id, part.part_number, requestStream(c));
          c.header("ETag", etag);
          return c.json({});
        }
        await service.upload(path, requestStream(c), c.req.header("content-type"));
        return c.json({});
      });

      app.delete(`${BASE}/artifacts/*`, async (c) => {
        await service.delete(tail(c, `${BASE}/artifacts/`));
        return c.json({});
      });

      app.post(`${BASE}/mpu/create/*`, async (c) => {
        const body = await jsonBody(c, createBody);
        const origin = new URL(c.req.url).origin;
        const auth = c.req.header("authorization");
        const created = await service.createMultipartUpload(
          tail(c, `${BASE}/mpu/create/`),
          body.path,
          body.num_parts,
          (target, uploadId, n) =>
            `${origin}${BASE}/artifacts/${encodePath(target)}?upload_id=${encodeURIComponent(uploadId)}&part_number=${n}`,
          auth ? { Authorization: auth } : {},
        );
        return c.json(created);
      });

      app.post(`${BASE}/mpu/complete/*`, async (c) => {
        const body = await jsonBody(c, completeBody);
        await service.completeMultipartUpload(
          tail(c, `${BASE}/mpu/complete/`),
          body.path,
          body.upload_id,
          body.parts,
        );
        return c.json({});
      });

      app.post(`${BASE}/mpu/abort/*`, async (c) => {
        const body = await jsonBody(c, abortBody);
        await service.abortMultipartUpload(tail(c, `${BASE}/mpu/abort/`), body.path, body.upload_id);
        return c.json({});
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
