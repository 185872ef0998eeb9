import { z } from "zod";
import { ServingError } from "../errors";
import { type InferRequest, type InferResponse, inferResponseSchema, type ModelMetadata } from "../protocol";

/**
 * InferenceBackend: one model version behind some serving system. The router talks to every
 * backend (Keel's model server in process, a KServe v2 HTTP server such as Triton or
 * `keel serve`, a SageMaker endpoint) through this port only.
 */
export interface InferenceBackend {
  /** Human-readable target for logs and errors. */
  readonly target: string;
  /**
   * Runs one inference request and resolves with the protocol's response.
   * Throws ServingError: INVALID_PARAMETER_VALUE / RESOURCE_DOES_NOT_EXIST when the backend
   * rejected the request (never worth retrying); TEMPORARILY_UNAVAILABLE with
   * `retryable: true` only when the request was certainly not executed (queue full,
   * connection refused); DEADLINE_EXCEEDED when `timeoutMs` passed; INTERNAL_ERROR otherwise.
   */
  infer(request: InferRequest, opts?: { timeoutMs?: number }): Promise<InferResponse>;
  /** The model's protocol metadata. Throws RESOURCE_DOES_NOT_EXIST when unknown, NOT_IMPLEMENTED where the backend has no metadata API. */
  metadata(): Promise<ModelMetadata>;
  /** Whether the model can take requests now. Never throws: an unreachable backend is not ready. */
  ready(): Promise<boolean>;
}

const kserveSpecSchema = z.object({
  type: z.literal("kserve"),
  url: z.string().url(),
  /** Model name on that server; defaults to the deployment version's model. */
  model: z.string().min(1).optional(),
  /** Model version on that server; defaults to the deployment version's version. */
  version: z.string().min(1).optional(),
});
const sagemakerSpecSchema = z.object({
  type: z.literal("sagemaker"),
  endpoint: z.string().min(1),
  variant: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
});

/** A backend an admin registers by name (`/api/v1/backends`): a remote serving system. */
export const remoteBackendSpecSchema = z.discriminatedUnion("type", [kserveSpecSchema, sagemakerSpecSchema]);
export type RemoteBackendSpec = z.infer<typeof remoteBackendSpecSchema>;

/** The built-in backend name for Keel's model server in this process (`{"type": "local"}`). */
export const IN_PROCESS_BACKEND = "in-process";

/**
 * Where a deployment's model version runs: `local` (the in-process model server, or the
 * stage's default backend where none runs), a backend an admin registered (`named`), or,
 * outside production only, a free-form kserve URL or SageMaker endpoint. A plain string is
 * shorthand for a registered backend's name (`"in-process"` = local).
 */
export const backendSpecSchema = z.preprocess(
  (v) =>
    typeof v === "string" ? (v === IN_PROCESS_BACKEND ? { type: "local" } : { type: "named", name: v }) : v,
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("local") }),
    z.object({ type: z.literal("named"), name: z.string().min(1).max(63) }),
    kserveSpecSchema,
    sagemakerSpecSchema,
  ]),
);
export type BackendSpec = z.infer<typeof backendSpecSchema>;

/** Parses a remote server's body as a v2 inference response; anything else is the server's fault (INTERNAL_ERROR). */
export function parseInferResponse(text: string, target: string): InferResponse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ServingError("INTERNAL_ERROR", `${target} returned a body that is not JSON`);
  }
  const parsed = inferResponseSchema.safeParse(json);
  if (!parsed.success)
    throw new ServingError("INTERNAL_ERROR", `${target} returned a body that is not a v2 inference response`);
  return parsed.data as InferResponse;
}
