import { z } from "zod";
import { defineRoute } from "./route";

/** MLflow's artifact proxy (`mlflow server --serve-artifacts`): `mlflow-artifacts:/` URIs. */
const B = "/api/2.0/mlflow-artifacts";
const tags = ["MLflow artifacts"] as const;
const ERRORS = ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_DOES_NOT_EXIST"] as const;

/** MLflow's `_assert_intlike`: a JSON integer or a string of one. */
const intLike = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/, "expected an integer")
    .transform(Number),
]);
const empty = z.object({});

export const artifactRoutes = {
  list: defineRoute({
    id: "artifacts.list",
    method: "GET",
    path: `${B}/artifacts`,
    summary: "List artifacts under a path",
    tags,
    query: z.object({ path: z.string().optional() }),
    response: z.object({
      files: z
        .array(z.object({ path: z.string(), is_dir: z.boolean(), file_size: z.number().optional() }))
        .optional(),
    }),
    errors: ERRORS,
  }),
  download: defineRoute({
    id: "artifacts.download",
    method: "GET",
    path: `${B}/artifacts/*`,
    summary: "Download an artifact (streamed)",
    tags,
    response: z.string(),
    responseType: "application/octet-stream",
    errors: ERRORS,
  }),
  upload: defineRoute({
    id: "artifacts.upload",
    method: "PUT",
    path: `${B}/artifacts/*`,
    summary: "Upload an artifact, or one part of a multipart upload (with upload_id and part_number)",
    tags,
    query: z.object({ upload_id: z.string().min(1).optional(), part_number: intLike.optional() }),
    body: z.string(),
    rawBody: true,
    requestType: "application/octet-stream",
    response: empty,
    errors: ERRORS,
  }),
  delete: defineRoute({
    id: "artifacts.delete",
    method: "DELETE",
    path: `${B}/artifacts/*`,
    summary: "Delete an artifact",
    tags,
    response: empty,
    errors: ERRORS,
  }),
  createMultipartUpload: defineRoute({
    id: "artifacts.createMultipartUpload",
    method: "POST",
    path: `${B}/mpu/create/*`,
    summary: "Start a multipart upload; answers one upload URL per part",
    tags,
    body: z.object({ path: z.string().min(1), num_parts: intLike.default(1) }),
    response: z.object({
      upload_id: z.string().optional(),
      credentials: z.array(z.object({ part_number: z.number(), url: z.string() }).loose()),
    }),
    errors: ERRORS,
  }),
  completeMultipartUpload: defineRoute({
    id: "artifacts.completeMultipartUpload",
    method: "POST",
    path: `${B}/mpu/complete/*`,
    summary: "Complete a multipart upload",
    tags,
    body: z.object({
      path: z.string().min(1),
      upload_id: z.string().min(1),
      parts: z.array(z.object({ part_number: intLike, etag: z.string(), url: z.string().nullish() })).min(1),
    }),
    response: empty,
    errors: ERRORS,
  }),
  abortMultipartUpload: defineRoute({
    id: "artifacts.abortMultipartUpload",
    method: "POST",
    path: `${B}/mpu/abort/*`,
    summary: "Abort a multipart upload",
    tags,
    body: z.object({ path: z.string().min(1), upload_id: z.string().min(1) }),
    response: empty,
    errors: ERRORS,
  }),
};

/** The partQuery check a part upload applies (both fields required). */
export const artifactPartQuery = z.object({ upload_id: z.string().min(1), part_number: intLike });
