import { ERROR_CODES, type ErrorCode, internalCallHeaders } from "@keel/core";
import { ExampleError } from "./errors";

/**
 * The few HTTP calls the example makes to a Keel platform (`keel dev` locally, API Gateway in
 * AWS). The pipeline's steps use HTTP rather than in-process services so the same steps run
 * in a step Lambda against a deployed stage.
 */
export class KeelApi {
  constructor(
    readonly url: string,
    private readonly principal?: string,
  ) {}

  /** JSON request; a non-2xx answer throws an ExampleError carrying the platform's error code and message. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const send = () =>
      fetch(`${this.url.replace(/\/+$/, "")}${path}`, {
        method,
        headers: {
          // Inside `keel dev` (the quickstart, pipeline steps) the platform's own calls are never shed.
          ...internalCallHeaders(),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(this.principal ? { "x-keel-principal": this.principal } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let res: Response;
    try {
      res = await send();
    } catch (e) {
      // A kept-alive connection the server closed as it was reused ("other side closed", seen
      // on a loaded machine while the quickstart polls): an idempotent call is sent once more.
      if (!closedConnection(e) || method === "POST" || method === "PATCH") throw unreachable(method, path, e);
      res = await send().catch((again) => {
        throw unreachable(method, path, again);
      });
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // Not JSON (a proxy's error page): the status and text below still say what happened.
    }
    if (!res.ok) {
      const code = (
        typeof json.error_code === "string" && json.error_code in ERROR_CODES
          ? json.error_code
          : res.status === 404
            ? "RESOURCE_DOES_NOT_EXIST"
            : "INTERNAL_ERROR"
      ) as ErrorCode;
      const message = String(json.message ?? json.error ?? text);
      throw new ExampleError(code, `${method} ${path} answered ${res.status}: ${message}`, {
        status: res.status,
      });
    }
    return json as T;
  }

  /** Like `call`, but a 404 answer is `undefined`. */
  async find<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    try {
      return await this.call<T>(method, path, body);
    } catch (e) {
      if (e instanceof ExampleError && e.details?.status === 404) return undefined;
      throw e;
    }
  }
}

function closedConnection(e: unknown): boolean {
  const code = (e as { cause?: { code?: string } }).cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

/** A network failure, naming the call and the cause ("fetch failed" alone says neither). */
function unreachable(method: string, path: string, e: unknown): Error {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return new Error(
    `${method} ${path}: ${(e as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ""}`,
    {
      cause: e,
    },
  );
}
