import { InvokeEndpointCommand, type InvokeEndpointCommandOutput } from "@aws-sdk/client-sagemaker-runtime";
import type { ErrorCode } from "@keel/core";
import { ServingError } from "../../errors";
import type { InferRequest, InferResponse, ModelMetadata } from "../../protocol/protocol";
import { type InferenceBackend, parseInferResponse } from "./inference-backend";

/** The part of SageMakerRuntimeClient this backend uses (tests pass a recording stand-in). */
export interface SageMakerRuntimeLike {
  send(
    command: InvokeEndpointCommand,
    opts?: { abortSignal?: AbortSignal },
  ): Promise<InvokeEndpointCommandOutput>;
}

const ERROR_CODES: Record<string, { code: ErrorCode; retryable: boolean }> = {
  ValidationError: { code: "INVALID_PARAMETER_VALUE", retryable: false },
  ModelError: { code: "INVALID_PARAMETER_VALUE", retryable: false },
  ModelNotReadyException: { code: "TEMPORARILY_UNAVAILABLE", retryable: true },
  ServiceUnavailable: { code: "TEMPORARILY_UNAVAILABLE", retryable: true },
  ThrottlingException: { code: "TEMPORARILY_UNAVAILABLE", retryable: true },
  InternalDependencyException: { code: "INTERNAL_ERROR", retryable: false },
  InternalFailure: { code: "INTERNAL_ERROR", retryable: false },
};

/**
 * A SageMaker real-time endpoint whose container speaks the v2 protocol's JSON (SageMaker's
 * Triton containers do): InvokeEndpoint with `application/json`, one variant optionally pinned.
 * SageMaker has no metadata API, so metadata() throws NOT_IMPLEMENTED.
 */
export class SageMakerBackend implements InferenceBackend {
  readonly target: string;

  constructor(
    private readonly client: SageMakerRuntimeLike,
    private readonly endpoint: string,
    private readonly variant?: string,
  ) {
    this.target = `sagemaker endpoint '${endpoint}'${variant ? ` variant '${variant}'` : ""}`;
  }

  async infer(request: InferRequest, opts: { timeoutMs?: number } = {}): Promise<InferResponse> {
    const command = new InvokeEndpointCommand({
      EndpointName: this.endpoint,
      ContentType: "application/json",
      Accept: "application/json",
      Body: new TextEncoder().encode(JSON.stringify(request)),
      ...(this.variant ? { TargetVariant: this.variant } : {}),
    });
    let out: InvokeEndpointCommandOutput;
    try {
      out = await this.client.send(
        command,
        opts.timeoutMs ? { abortSignal: AbortSignal.timeout(opts.timeoutMs) } : undefined,
      );
    } catch (e) {
      const err = e as Error & { OriginalStatusCode?: number; OriginalMessage?: string };
      if (err.name === "TimeoutError" || err.name === "AbortError") {
        throw new ServingError(
          "DEADLINE_EXCEEDED",
          `${this.target} did not answer within ${opts.timeoutMs} ms`,
          { cause: e },
        );
      }
      const mapped = ERROR_CODES[err.name] ?? { code: "INTERNAL_ERROR" as ErrorCode, retryable: false };
      // A model's own 5xx is a server failure, not bad input.
      const code =
        err.name === "ModelError" && (err.OriginalStatusCode ?? 400) >= 500 ? "INTERNAL_ERROR" : mapped.code;
      throw new ServingError(code, `${this.target}: ${err.name}: ${err.OriginalMessage ?? err.message}`, {
        retryable: mapped.retryable,
        cause: e,
      });
    }
    return parseInferResponse(new TextDecoder().decode(out.Body), this.target);
  }

  async metadata(): Promise<ModelMetadata> {
    throw new ServingError(
      "NOT_IMPLEMENTED",
      `${this.target}: SageMaker endpoints have no model metadata API`,
    );
  }

  /** SageMaker reports readiness through DescribeEndpoint (control plane); a deployed endpoint is taken as ready. */
  async ready(): Promise<boolean> {
    return true;
  }
}
