import { backendSpecSchema, IN_PROCESS_BACKEND, remoteBackendSpecSchema } from "@keel/contract";
import type { z } from "zod";
import { ServingError } from "../../errors";
import {
  type InferRequest,
  type InferResponse,
  inferResponseSchema,
  type ModelMetadata,
} from "../../protocol/protocol";

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

export { backendSpecSchema, IN_PROCESS_BACKEND, remoteBackendSpecSchema };
export type RemoteBackendSpec = z.infer<typeof remoteBackendSpecSchema>;
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
