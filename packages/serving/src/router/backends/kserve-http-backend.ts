import type { ErrorCode } from "@keel/core";
import { ServingError } from "../../errors";
import {
  type InferRequest,
  type InferResponse,
  type ModelMetadata,
  modelMetadataSchema,
} from "../../protocol/protocol";
import { type InferenceBackend, parseInferResponse } from "./inference-backend";

const STATUS_CODES: Record<number, ErrorCode> = {
  400: "INVALID_PARAMETER_VALUE",
  404: "RESOURCE_DOES_NOT_EXIST",
  413: "PAYLOAD_TOO_LARGE",
  429: "REQUEST_LIMIT_EXCEEDED",
  503: "TEMPORARILY_UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Errors raised before any byte of the request reached the server: resending is safe. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * A model on a KServe v2 / Open Inference Protocol REST server: Triton on the GPU node group
 * or another `keel serve`. Uses the global fetch (keep-alive connection pool).
 */
export class KServeHttpBackend implements InferenceBackend {
  readonly target: string;
  private readonly base: string;

  constructor(url: string, model: string, version?: string) {
    const root = url.replace(/\/+$/, "");
    this.base = `${root}/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ""}`;
    this.target = `kserve ${root} model '${model}'${version ? ` version ${version}` : ""}`;
  }

  async infer(request: InferRequest, opts: { timeoutMs?: number } = {}): Promise<InferResponse> {
    return parseInferResponse(
      await this.call("POST", "/infer", JSON.stringify(request), opts.timeoutMs),
      this.target,
    );
  }

  async metadata(): Promise<ModelMetadata> {
    const text = await this.call("GET", "", undefined, 10_000);
    const parsed = modelMetadataSchema.safeParse(jsonOrUndefined(text));
    if (!parsed.success)
      throw new ServingError("INTERNAL_ERROR", `${this.target} sent metadata that is not v2 model metadata`);
    return parsed.data;
  }

  async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.base}/ready`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  private async call(
    method: string,
    path: string,
    body: string | undefined,
    timeoutMs?: number,
  ): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        body,
        headers: body ? { "content-type": "application/json" } : undefined,
        signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      if (err.name === "TimeoutError")
        throw new ServingError("DEADLINE_EXCEEDED", `${this.target} did not answer within ${timeoutMs} ms`, {
          cause: e,
        });
      const code = err.cause?.code ?? "";
      throw new ServingError(
        "TEMPORARILY_UNAVAILABLE",
        `${this.target} is unreachable (${code || err.message})`,
        { retryable: NOT_SENT.has(code), cause: e },
      );
    }
    const text = await res.text();
    if (res.ok) return text;
    const message = (jsonOrUndefined(text) as { error?: unknown } | undefined)?.error;
    const code =
      STATUS_CODES[res.status] ?? (res.status < 500 ? "INVALID_PARAMETER_VALUE" : "INTERNAL_ERROR");
    // A 503 from a v2 server means it refused the request before running it (queue full, not ready).
    throw new ServingError(
      code,
      `${this.target}: ${typeof message === "string" ? message : `HTTP ${res.status}`}`,
      { retryable: res.status === 503 },
    );
  }
}
