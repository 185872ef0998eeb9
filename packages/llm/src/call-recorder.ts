import { PII_KINDS } from "@keel/contract";
import type { Logger } from "@keel/core";
import type { BodyStore } from "./body-store";
import type { Caller } from "./caller";
import type { EmfWriter } from "./emf";
import { scanMessages, scannerFor } from "./guardrails";
import type { ChatRequest, EmbeddingRequest } from "./openai-types";
import type { Route } from "./routes";

/** What the gateway knows of one finished call (answered, failed or served from cache). */
export interface FinishedCall {
  route: Route;
  caller: Caller;
  kind: "chat" | "embeddings";
  request?: ChatRequest | EmbeddingRequest;
  /** The answer's text as the upstream produced it (redacted here before it is kept anywhere). */
  answer?: string;
  deployment?: string;
  upstreamModel?: string;
  status: number;
  error?: string;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  startedAt: number;
  latencyMs: number;
  ttftMs?: number;
  fallbacks: number;
  cacheHit: boolean;
  stream: boolean;
}

/** One gateway call as an MLflow trace (the platform adapts it to the TrackingService's TraceRecorder). */
export interface GatewayTrace {
  experiment: string;
  name: string;
  startTimeMs: number;
  endTimeMs: number;
  inputs: unknown;
  outputs?: unknown;
  error?: string;
  usage: { inputTokens: number; outputTokens: number };
  costUsd: number;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

export interface GatewayTracer {
  record(t: GatewayTrace): Promise<unknown>;
}

/** Every detector: what stored bodies and traces are redacted with when a route has no guardrails. */
const ALL_DETECTORS = { detectors: [...PII_KINDS], patterns: [] };

/** The request's text with the route's detectors (or every detector) applied, whatever its guardrail mode. */
export function redactedRequest(route: Route, request: ChatRequest | EmbeddingRequest | undefined): unknown {
  if (!request) return undefined;
  const scanner = scannerFor(route.guardrails ?? ALL_DETECTORS);
  if ("messages" in request && Array.isArray(request.messages))
    return { model: request.model, messages: scanMessages(scanner, request.messages, {}) };
  const input = (request as EmbeddingRequest).input;
  const scan = (x: unknown) => (typeof x === "string" ? scanner.scan(x, {}).text : x);
  return { model: request.model, input: Array.isArray(input) ? input.map(scan) : scan(input) };
}

export function redactedText(route: Route, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return scannerFor(route.guardrails ?? ALL_DETECTORS).scan(text, {}).text;
}

/**
 * What happens after a call, off its answer's path: EMF metrics (AWS), redacted prompt/answer
 * storage (routes with `store.prompts`), and an MLflow trace (routes with `trace`). A failure
 * here is logged, never the caller's.
 */
export class CallRecorder {
  constructor(
    private readonly d: { bodies?: BodyStore; tracer?: GatewayTracer; emf?: EmfWriter; log?: Logger },
  ) {}

  record(c: FinishedCall): void {
    this.d.emf?.record({
      model: c.route.model,
      tokensIn: c.tokensIn,
      tokensOut: c.tokensOut,
      cost: c.cost,
      latencyMs: c.latencyMs,
      ttftMs: c.ttftMs,
      status: c.status,
      fallbacks: c.fallbacks,
      cacheHit: c.cacheHit,
    });
    const store = c.route.store;
    const traced = c.route.trace && this.d.tracer;
    if (!(store?.prompts && this.d.bodies) && !traced) return;
    const request = redactedRequest(c.route, c.request);
    const answer = redactedText(c.route, c.answer);
    if (store?.prompts && this.d.bodies)
      this.d.bodies.save(
        {
          team: c.caller.team,
          principal: c.caller.principal,
          ...(c.caller.key ? { key: c.caller.key.id } : {}),
          model: c.route.model,
          status: c.status,
          request,
          ...(answer !== undefined ? { response: answer } : {}),
        },
        store.retentionDays,
      );
    if (c.route.trace && this.d.tracer)
      this.d.tracer
        .record({
          experiment: c.route.trace.experiment,
          name: `${c.kind === "chat" ? "chat.completions" : "embeddings"} ${c.route.model}`,
          startTimeMs: c.startedAt,
          endTimeMs: c.startedAt + c.latencyMs,
          inputs: request,
          ...(answer !== undefined ? { outputs: { content: answer } } : {}),
          ...(c.status >= 400 ? { error: c.error ?? `status ${c.status}` } : {}),
          usage: { inputTokens: c.tokensIn, outputTokens: c.tokensOut },
          costUsd: c.cost,
          metadata: {
            "keel.llm.model": c.route.model,
            ...(c.deployment ? { "keel.llm.deployment": c.deployment } : {}),
            ...(c.upstreamModel ? { "keel.llm.upstreamModel": c.upstreamModel } : {}),
            "keel.llm.status": String(c.status),
            "keel.llm.latencyMs": String(Math.round(c.latencyMs)),
            ...(c.ttftMs !== undefined ? { "keel.llm.ttftMs": String(Math.round(c.ttftMs)) } : {}),
            "keel.llm.team": c.caller.team,
          },
          tags: { "keel.llm.cacheHit": String(c.cacheHit), "keel.llm.stream": String(c.stream) },
        })
        .catch((e) => this.d.log?.warn?.("llm trace write failed", { error: String(e) }));
  }
}
