import type { Clock } from "@keel/core";
import type { FinishedCall } from "./call-recorder";
import type { Caller } from "./caller";
import { checkModelAllowed } from "./caller";
import { LlmError } from "./errors";
import type { ExactCache } from "./exact-cache";
import { type Findings, StreamScanner, scanMessages, scannerFor } from "./guardrails";
import { type BucketDraw, type BucketState, type RateLimiter, rateLimitHeaders } from "./limits";
import type { LlmMetrics } from "./metrics";
import type { ChatChunk, ChatCompletion, ChatRequest, EmbeddingRequest, Usage } from "./openai-types";
import type { LlmRouter, Resolved, Target } from "./router";
import type { Route } from "./routes";
import type { SemanticCache, SemanticProbe } from "./semantic-cache";
import type { TeamSettings, Teams } from "./teams";
import { countEmbeddingInput, countPrompt, countText } from "./tokens";
import { requestIdOf, type UsageLog } from "./usage-log";

export interface GatewayDeps {
  router: LlmRouter;
  limiter: RateLimiter;
  teams: Teams;
  usage: UsageLog;
  cache: ExactCache;
  metrics: LlmMetrics;
  clock: Clock;
  /** The semantic cache (routes with `semanticCache`); absent: off. */
  semantic?: SemanticCache;
  /** After each call, off its path: EMF metrics, stored bodies, traces (call-recorder.ts). */
  onCall?: (c: FinishedCall) => void;
}

/** One request's bookkeeping, from admission to the usage record. */
interface Ticket {
  caller: Caller;
  route: Route;
  started: number;
  /** When the request reached the gateway's handler (performance.now()): the overhead's start. */
  receivedAt: number;
  /** Milliseconds this request waited for upstreams (every try, backoff, a semantic-cache embedding). */
  upstreamMs: number;
  headers: Record<string, string>;
  findings: Findings;
  promptTokens: number;
  tpm: BucketDraw[];
  /** The usage record's id and time, known at admission (the request id answered in `x-keel-request-id`). */
  id: string;
  time: number;
  /** The deployment the request was assigned to (its A/B variant): recorded on failures too. */
  variant?: string;
  request?: ChatRequest | EmbeddingRequest;
}

const encoder = new TextEncoder();

/**
 * The gateway's request path, the same for every model: who (caller) -> which route ->
 * budget -> rate limits -> input guardrails -> exact cache -> the router (deployments,
 * fallbacks) -> output guardrails -> usage, cost, spend and metrics. Answers are Responses in
 * OpenAI's shapes; failures are LlmErrors (the HTTP layer renders OpenAI's error shape).
 */
export class Gateway {
  constructor(private readonly d: GatewayDeps) {}

  /**
   * Budget, then rate limits; synchronous when the team's settings and spend and this process's
   * leases decide (the usual case), a promise only when the store must be read.
   */
  private admit(
    caller: Caller,
    resolved: Resolved,
    promptTokens: number,
    receivedAt?: number,
  ): Ticket | Promise<Ticket> {
    const started = performance.now();
    const t: Ticket = {
      caller,
      route: resolved.route,
      started,
      receivedAt: receivedAt ?? started,
      upstreamMs: 0,
      id: "",
      time: 0,
      headers: {},
      findings: {},
      promptTokens,
      tpm: [],
    };
    const budget = this.d.teams.checkBudgetNow(caller.team);
    const team = budget ? budget.then(() => this.d.teams.get(caller.team)) : this.d.teams.getNow(caller.team);
    return team instanceof Promise ? team.then((x) => this.draw(t, x)) : this.draw(t, team);
  }

  /** The rate limits of the key, the team and the route; the ticket's id once admitted. */
  private draw(t: Ticket, team: TeamSettings | undefined): Ticket | Promise<Ticket> {
    const draws: BucketDraw[] = [];
    if (t.caller.key) addDraws(draws, `key:${t.caller.key.id}`, t.caller.key.limits, t.promptTokens);
    addDraws(draws, `team:${t.caller.team}`, team?.limits, t.promptTokens);
    addDraws(draws, `model:${t.route.model}`, t.route.limits, t.promptTokens);
    t.tpm = draws.filter((x) => x.kind === "tokens");
    const states = draws.length ? this.d.limiter.admitNow(draws) : [];
    return states instanceof Promise ? states.then((x) => this.stamp(t, x)) : this.stamp(t, states);
  }

  private stamp(t: Ticket, states: BucketState[]): Ticket {
    t.id = this.d.usage.newId();
    t.time = this.d.clock.now();
    t.headers = { ...rateLimitHeaders(states), "x-keel-request-id": requestIdOf(t.time, t.id) };
    return t;
  }

  /**
   * `receivedAt` (performance.now() when the HTTP layer took the request) starts the overhead
   * the answer reports in `x-keel-overhead-ms` and `Server-Timing`.
   */
  async chat(caller: Caller, body: unknown, signal?: AbortSignal, receivedAt?: number): Promise<Response> {
    const request = parseChat(body);
    checkModelAllowed(caller, request.model);
    let prompt: number | undefined;
    const promptTokens = () => (prompt ??= countPrompt(request));
    const resolving = this.d.router.resolveNow(request.model, promptTokens);
    const resolved = resolving instanceof Promise ? await resolving : resolving;
    const admitted = this.admit(caller, resolved, promptTokens(), receivedAt);
    const t = admitted instanceof Promise ? await admitted : admitted;
    t.request = request;
    try {
      const guard = resolved.route.guardrails;
      let upstream = request;
      if (guard && guard.input !== "off") {
        const messages = scanMessages(scannerFor(guard), request.messages, t.findings);
        this.countFindings(t, "input");
        if (Object.keys(t.findings).length && guard.input === "block")
          throw new LlmError(
            "pii",
            `The request contains personal data (${Object.keys(t.findings).join(", ")}) and this route blocks it.`,
            "pii_detected",
            "messages",
          );
        if (guard.input === "redact") upstream = { ...request, messages };
      }
      const cacheKey = resolved.route.cache ? this.d.cache.keyOf(resolved.route.model, upstream) : undefined;
      const cached = cacheKey ? this.d.cache.get(cacheKey) : undefined;
      if (cached) return this.fromCache(t, request, cached, "exact");
      const probe = await this.semanticProbe(t, upstream);
      if (probe?.hit)
        return this.fromCache(t, request, probe.hit.completion, "semantic", probe.hit.similarity);
      const planning = this.d.router.planNow(resolved);
      const plan = planning instanceof Promise ? await planning : planning;
      t.variant = plan[0]?.deployment.id;
      if (request.stream) return await this.stream(t, request, upstream, plan, probe, signal);
      const served = await this.d.router.chat(plan, upstream, signal);
      t.upstreamMs += served.upstreamMs;
      const completion = this.guardOutput(t, served.value);
      if (cacheKey && resolved.route.cache && !Object.keys(t.findings).length)
        this.d.cache.set(cacheKey, completion, resolved.route.cache.ttlSeconds);
      if (probe && !Object.keys(t.findings).length) probe.store(completion);
      const usage = this.usageOf(t, served.value.usage, completionText(completion));
      const answer = { ...completion, model: request.model, usage: usage.usage };
      this.finish(t, served.target, usage, {
        status: 200,
        stream: false,
        fallbacks: served.fallbacks,
        text: completionText(served.value),
      });
      return json(answer, {
        ...t.headers,
        "x-keel-cache": cacheKey || probe ? "miss" : resolved.route.semanticCache ? "bypass" : "off",
        "x-keel-deployment": served.target.deployment.id,
        ...overheadHeaders(t),
      });
    } catch (e) {
      this.failed(t, e);
      throw e;
    }
  }

  async embeddings(
    caller: Caller,
    body: unknown,
    signal?: AbortSignal,
    receivedAt?: number,
  ): Promise<Response> {
    const request = parseEmbeddings(body);
    checkModelAllowed(caller, request.model);
    return this.embed(caller, request, signal, { receivedAt });
  }

  /**
   * The semantic cache's probe: the conversation embedded through this gateway's embeddings
   * path as the caller (their team's budget and rate limits; the key's model list is not
   * applied, the route's owner chose the embedding model). Skipped when the input guardrails
   * found anything (an answer to redacted or logged personal data is never shared), and
   * bypassed (a miss) when the embedding fails.
   */
  private async semanticProbe(t: Ticket, request: ChatRequest): Promise<SemanticProbe | undefined> {
    const s = t.route.semanticCache;
    if (!s || !this.d.semantic || Object.keys(t.findings).length) return undefined;
    const model = { model: t.route.model };
    try {
      const probe = await this.d.semantic.probe(t.route, request, t.caller.team, async (m, input) => {
        const res = await this.embed(t.caller, { model: m, input, encoding_format: "float" }, undefined, {
          parent: t,
        });
        const body = (await res.json()) as { data: Array<{ embedding: number[] }> };
        return body.data[0].embedding;
      });
      this.d.metrics.semanticCache.inc({ ...model, outcome: probe?.hit ? "hit" : "miss" });
      return probe;
    } catch {
      this.d.metrics.semanticCache.inc({ ...model, outcome: "error" });
      return undefined;
    }
  }

  /** `parent`: the chat request a semantic-cache embedding is made for (its upstream wait counts there). */
  private async embed(
    caller: Caller,
    request: EmbeddingRequest,
    signal?: AbortSignal,
    at: { receivedAt?: number; parent?: Ticket } = {},
  ): Promise<Response> {
    const resolved = await this.d.router.resolve(request.model, () => countEmbeddingInput(request));
    const parent = at.parent;
    const admitted = this.admit(caller, resolved, countEmbeddingInput(request), at.receivedAt);
    const t = admitted instanceof Promise ? await admitted : admitted;
    t.request = request;
    try {
      // base64 (the openai client's default) is encoded here: not every upstream (Ollama, TGI) speaks it.
      const base64 = request.encoding_format === "base64";
      const upstream = base64 ? { ...request, encoding_format: "float" } : request;
      const plan = await this.d.router.plan(resolved);
      t.variant = plan[0]?.deployment.id;
      const served = await this.d.router.embeddings(plan, upstream, signal);
      t.upstreamMs += served.upstreamMs;
      // A semantic-cache probe's upstream wait is a wait of the chat request it was made for.
      if (parent) parent.upstreamMs += served.upstreamMs;
      if (base64)
        served.value = {
          ...served.value,
          data: served.value.data.map((x) => ({ ...x, embedding: toBase64(x.embedding) })),
        };
      const tokensIn = served.value.usage?.prompt_tokens ?? t.promptTokens;
      const usage = {
        usage: { prompt_tokens: tokensIn, completion_tokens: 0, total_tokens: tokensIn },
        source: served.value.usage ? ("usage" as const) : ("tokenizer" as const),
      };
      this.finish(t, served.target, usage, { status: 200, stream: false, fallbacks: served.fallbacks });
      return json(
        { ...served.value, model: request.model, usage: { prompt_tokens: tokensIn, total_tokens: tokensIn } },
        { ...t.headers, ...overheadHeaders(t) },
      );
    } catch (e) {
      this.failed(t, e);
      throw e;
    }
  }

  /** Output guardrails on a whole answer: redact, block (content_filter) or log. */
  private guardOutput(t: Ticket, completion: ChatCompletion): ChatCompletion {
    const guard = t.route.guardrails;
    if (!guard || guard.output === "off") return completion;
    const scanner = scannerFor(guard);
    const found: Findings = {};
    const choices = completion.choices.map((c) => {
      if (typeof c.message?.content !== "string") return c;
      const r = scanner.scan(c.message.content, found);
      if (guard.output === "log" || !Object.keys(found).length) return c;
      if (guard.output === "block")
        return { ...c, message: { ...c.message, content: "" }, finish_reason: "content_filter" };
      return { ...c, message: { ...c.message, content: r.text } };
    });
    this.merge(t, found, "output");
    return { ...completion, choices };
  }

  private merge(t: Ticket, found: Findings, direction: "input" | "output") {
    for (const [k, n] of Object.entries(found)) {
      t.findings[k] = (t.findings[k] ?? 0) + n;
      this.d.metrics.redactions.inc({ kind: k, direction }, n);
    }
  }

  private countFindings(t: Ticket, direction: "input" | "output") {
    for (const [k, n] of Object.entries(t.findings)) this.d.metrics.redactions.inc({ kind: k, direction }, n);
  }

  private async stream(
    t: Ticket,
    request: ChatRequest,
    upstream: ChatRequest,
    plan: Target[],
    probe?: SemanticProbe,
    signal?: AbortSignal,
  ): Promise<Response> {
    const wantsUsage = Boolean(request.stream_options?.include_usage);
    const served = await this.d.router.stream(
      plan,
      {
        ...upstream,
        stream: true,
        stream_options: { ...(upstream.stream_options ?? {}), include_usage: true },
      },
      signal,
    );
    t.upstreamMs += served.upstreamMs;
    const ttftMs = performance.now() - t.started;
    const guard = t.route.guardrails;
    const scanner = guard && guard.output !== "off" ? new StreamScanner(scannerFor(guard)) : undefined;
    const { first, rest } = served.value;
    const self = this;
    let text = "";
    let usage: Usage | undefined;
    let last: ChatChunk | undefined;
    let finishReason: string | null = null;
    let complete = false;
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (obj: unknown) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(obj)}\n\n`));
        let status = 200;
        let blocked = false;
        const emit = (chunk: ChatChunk) => {
          last = chunk;
          if (chunk.usage) usage = chunk.usage;
          const content = chunk.choices?.[0]?.delta?.content;
          if (typeof content === "string") text += content;
          finishReason = chunk.choices?.[0]?.finish_reason ?? finishReason;
          if (blocked) return;
          let out: ChatChunk = { ...chunk, model: request.model };
          if (scanner && typeof content === "string") {
            const released = scanner.push(content);
            if (scanner.found && guard?.output === "block") {
              blocked = true;
              send({
                ...out,
                choices: [{ index: 0, delta: {}, finish_reason: "content_filter" }],
                usage: undefined,
              });
              return;
            }
            out = {
              ...out,
              choices: [
                {
                  ...chunk.choices[0],
                  delta: { ...chunk.choices[0].delta, content: guard?.output === "log" ? content : released },
                },
              ],
            };
          }
          if (scanner && chunk.choices?.[0]?.finish_reason && guard?.output !== "log") {
            const tail = scanner.end();
            if (tail)
              send({ ...out, choices: [{ index: 0, delta: { content: tail }, finish_reason: null }] });
          }
          if (chunk.usage && !chunk.choices?.length) {
            if (!wantsUsage) return;
            out = { ...out, usage: self.usageOf(t, chunk.usage, text).usage };
          }
          if (!wantsUsage && "usage" in out) delete out.usage;
          send(out);
        };
        try {
          if (first) emit(first);
          for (let r = await rest.next(); !r.done; r = await rest.next()) emit(r.value);
          if (scanner && !blocked && guard?.output !== "log") {
            const tail = scanner.end();
            if (tail && last)
              send({
                ...last,
                model: request.model,
                choices: [{ index: 0, delta: { content: tail }, finish_reason: null }],
                usage: undefined,
              });
          }
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          complete = true;
        } catch (e) {
          status = 502;
          send({
            error: {
              message: `upstream stream failed: ${(e as Error).message}`,
              type: "server_error",
              param: null,
              code: "upstream_error",
            },
          });
        } finally {
          controller.close();
          if (scanner) self.merge(t, scanner.findings, "output");
          const u = self.usageOf(t, usage, text);
          // A whole answer, as sent, with nothing found by the guardrails: the semantic cache keeps it.
          if (probe && complete && last && !Object.keys(t.findings).length)
            probe.store({
              id: last.id,
              object: "chat.completion",
              created: last.created,
              model: request.model,
              choices: [
                { index: 0, message: { role: "assistant", content: text }, finish_reason: finishReason },
              ],
              usage: u.usage,
            });
          const seconds = (performance.now() - t.started - ttftMs) / 1000;
          if (seconds > 0 && u.usage.completion_tokens)
            self.d.metrics.tokensPerSecond.observe(
              { model: t.route.model },
              u.usage.completion_tokens / seconds,
            );
          self.d.metrics.ttft.observe({ model: t.route.model }, ttftMs / 1000);
          try {
            self.finish(t, served.target, u, {
              status,
              stream: true,
              fallbacks: served.fallbacks,
              ttftMs,
              text,
            });
          } catch {
            // the stream was answered; a failed record is the usage log's to report
          }
        }
      },
      async cancel() {
        await rest.return?.();
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-keel-cache": t.route.cache || t.route.semanticCache ? "miss" : "off",
        "x-keel-deployment": served.target.deployment.id,
        ...t.headers,
        ...overheadHeaders(t),
      },
    });
  }

  /** A cached answer (`x-keel-cache: hit` from the exact cache, `semantic` from the semantic one), as JSON or SSE. */
  private async fromCache(
    t: Ticket,
    request: ChatRequest,
    cached: ChatCompletion,
    kind: "exact" | "semantic",
    similarity?: number,
  ): Promise<Response> {
    if (kind === "exact") this.d.metrics.cacheHits.inc({ model: t.route.model });
    const usage = this.usageOf(t, cached.usage, completionText(cached));
    const answer = { ...cached, model: request.model, usage: usage.usage };
    const rec = {
      status: 200,
      stream: Boolean(request.stream),
      fallbacks: 0,
      cacheHit: kind,
      text: completionText(cached),
    };
    this.finish(t, undefined, usage, rec);
    const headers: Record<string, string> = {
      ...t.headers,
      "x-keel-cache": kind === "exact" ? "hit" : kind,
      ...overheadHeaders(t),
    };
    if (similarity !== undefined) headers["x-keel-cache-similarity"] = similarity.toFixed(4);
    if (!request.stream) return json(answer, headers);
    const base = {
      id: answer.id,
      object: "chat.completion.chunk",
      created: answer.created,
      model: request.model,
    };
    const events = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: completionText(answer) }, finish_reason: null }] },
      {
        ...base,
        choices: [{ index: 0, delta: {}, finish_reason: answer.choices[0]?.finish_reason ?? "stop" }],
      },
      ...(request.stream_options?.include_usage ? [{ ...base, choices: [], usage: usage.usage }] : []),
    ];
    const text = `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("")}data: [DONE]\n\n`;
    return new Response(text, {
      headers: { "content-type": "text/event-stream; charset=utf-8", ...headers },
    });
  }

  /** The provider's usage when it reported one, else counted with the tokenizer. */
  private usageOf(
    t: Ticket,
    reported: Usage | undefined | null,
    text: string,
  ): { usage: Usage; source: "usage" | "tokenizer" } {
    if (reported && typeof reported.prompt_tokens === "number")
      return {
        usage: {
          ...reported,
          total_tokens: reported.total_tokens ?? reported.prompt_tokens + reported.completion_tokens,
        },
        source: "usage",
      };
    const out = countText(text);
    return {
      usage: { prompt_tokens: t.promptTokens, completion_tokens: out, total_tokens: t.promptTokens + out },
      source: "tokenizer",
    };
  }

  private finish(
    t: Ticket,
    target: Target | undefined,
    u: { usage: Usage; source: "usage" | "tokenizer" },
    r: {
      status: number;
      stream: boolean;
      fallbacks: number;
      ttftMs?: number;
      cacheHit?: "exact" | "semantic";
      text?: string;
    },
  ): void {
    const price = target?.deployment.price ?? { input: 0, output: 0 };
    const cost = r.cacheHit
      ? 0
      : (u.usage.prompt_tokens * price.input + u.usage.completion_tokens * price.output) / 1000;
    const latencyMs = performance.now() - t.started;
    const labels = { model: t.route.model, team: t.caller.team };
    const m = this.d.metrics;
    m.tokens.inc({ ...labels, direction: "input" }, u.usage.prompt_tokens);
    m.tokens.inc({ ...labels, direction: "output" }, u.usage.completion_tokens);
    m.requests.inc({ ...labels, outcome: r.cacheHit ? "cache_hit" : r.status < 400 ? "ok" : "error" });
    m.duration.observe({ model: t.route.model }, latencyMs / 1000);
    // An A/B variant's figures are the variant first chosen: a fallback's answer is that variant's error.
    const variant = t.variant ?? target?.deployment.id;
    const answeredByVariant = target?.deployment.id === variant;
    if (variant && target) m.countVariant(t.route.model, variant, r.status < 400 && answeredByVariant, cost);
    this.d.usage.record({
      id: t.id,
      time: t.time,
      team: t.caller.team,
      ...(t.caller.key ? { key: t.caller.key.id } : {}),
      principal: t.caller.principal,
      model: t.route.model,
      ...(target ? { deployment: target.deployment.id } : {}),
      ...(target && variant && !answeredByVariant ? { variant } : {}),
      tokensIn: u.usage.prompt_tokens,
      tokensOut: u.usage.completion_tokens,
      cost,
      latencyMs,
      ...(r.ttftMs !== undefined ? { ttftMs: r.ttftMs } : {}),
      cacheHit: Boolean(r.cacheHit),
      ...(r.cacheHit ? { cacheKind: r.cacheHit } : {}),
      redactions: t.findings,
      status: r.status,
      stream: r.stream,
      fallbacks: r.fallbacks,
      tokenSource: u.source,
    });
    this.d.onCall?.({
      route: t.route,
      caller: t.caller,
      kind: t.request && "input" in t.request ? "embeddings" : "chat",
      request: t.request,
      answer: r.text,
      deployment: target?.deployment.id,
      upstreamModel: target?.deployment.model,
      status: r.status,
      tokensIn: u.usage.prompt_tokens,
      tokensOut: u.usage.completion_tokens,
      cost,
      startedAt: this.d.clock.now() - latencyMs,
      latencyMs,
      ttftMs: r.ttftMs,
      fallbacks: r.fallbacks,
      cacheHit: Boolean(r.cacheHit),
      stream: r.stream,
    });
    // Off the answer's path: completion tokens count against TPM once known (the prompt was
    // drawn at admission; served from this process's lease), and the cost joins the team's
    // spend (counted here at once, written in the background).
    for (const d of t.tpm) this.d.limiter.charge({ ...d, cost: u.usage.completion_tokens });
    const share = this.d.teams.addSpendNow(t.caller.team, cost);
    if (share instanceof Promise)
      share
        .then((x) => x !== undefined && m.budgetUsed.set({ team: t.caller.team }, x))
        .catch(() => undefined);
    else if (share !== undefined) m.budgetUsed.set({ team: t.caller.team }, share);
  }

  private failed(t: Ticket, e: unknown): void {
    const status = e instanceof LlmError ? e.status : 500;
    const latencyMs = performance.now() - t.started;
    this.d.onCall?.({
      route: t.route,
      caller: t.caller,
      kind: t.request && "input" in t.request ? "embeddings" : "chat",
      request: t.request,
      status,
      error: (e as Error)?.message,
      tokensIn: 0,
      tokensOut: 0,
      cost: 0,
      startedAt: this.d.clock.now() - latencyMs,
      latencyMs,
      fallbacks: 0,
      cacheHit: false,
      stream: false,
    });
    this.d.metrics.requests.inc({ model: t.route.model, team: t.caller.team, outcome: "error" });
    if (t.variant) this.d.metrics.countVariant(t.route.model, t.variant, false, 0);
    this.d.usage.record({
      id: t.id,
      time: t.time,
      team: t.caller.team,
      ...(t.caller.key ? { key: t.caller.key.id } : {}),
      principal: t.caller.principal,
      model: t.route.model,
      ...(t.variant ? { deployment: t.variant } : {}),
      tokensIn: 0,
      tokensOut: 0,
      cost: 0,
      latencyMs: performance.now() - t.started,
      cacheHit: false,
      redactions: t.findings,
      status,
      stream: false,
      fallbacks: 0,
      tokenSource: "tokenizer",
    });
  }
}

/** The draws of one holder's limits: requests (1 each) and tokens (the prompt's, at admission). */
function addDraws(
  draws: BucketDraw[],
  id: string,
  limits: { rpm?: number; tpm?: number } | undefined,
  promptTokens: number,
): void {
  if (limits?.rpm) draws.push({ id: `${id}:rpm`, kind: "requests", limit: limits.rpm, cost: 1 });
  if (limits?.tpm) draws.push({ id: `${id}:tpm`, kind: "tokens", limit: limits.tpm, cost: promptTokens });
}

/** An embedding as OpenAI's base64: little-endian float32 bytes. */
function toBase64(v: number[] | string): string {
  if (typeof v === "string") return v;
  return Buffer.from(new Float32Array(v).buffer).toString("base64");
}

function completionText(c: ChatCompletion): string {
  return c.choices.map((x) => (typeof x.message?.content === "string" ? x.message.content : "")).join("");
}

function json(body: unknown, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json", ...headers } });
}

/**
 * The gateway's own time on a request, as LiteLLM's `x-litellm-overhead-duration-ms`: from the
 * handler taking it to the answer's headers, less the waits for upstreams (`upstreamMs`). In
 * `x-keel-overhead-ms` and in `Server-Timing` (`gateway`, `upstream`, `total`; browsers' devtools
 * show them).
 */
export function overheadHeaders(t: { receivedAt: number; upstreamMs: number }): Record<string, string> {
  const total = performance.now() - t.receivedAt;
  const overhead = Math.max(0, total - t.upstreamMs);
  return {
    "x-keel-overhead-ms": overhead.toFixed(3),
    "server-timing": `gateway;dur=${overhead.toFixed(3)}, upstream;dur=${t.upstreamMs.toFixed(3)}, total;dur=${total.toFixed(3)}`,
  };
}

/** An OpenAI request body: a JSON object naming a model (OpenAI's messages for what is missing). */
function withModel<T extends { model?: unknown }>(body: unknown): Partial<T> & { model: string } {
  const b = body as (Partial<T> & { model?: unknown }) | null;
  if (!b || typeof b !== "object") throw new LlmError("invalid", "The request body must be a JSON object.");
  if (typeof b.model !== "string" || !b.model)
    throw new LlmError(
      "invalid",
      "you must provide a model parameter",
      "missing_required_parameter",
      "model",
    );
  return b as Partial<T> & { model: string };
}

function parseChat(body: unknown): ChatRequest {
  const b = withModel<ChatRequest>(body);
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw new LlmError("invalid", "'messages' must be a non-empty array", "invalid_value", "messages");
  for (const [i, m] of b.messages.entries())
    if (!m || typeof m !== "object" || typeof m.role !== "string")
      throw new LlmError(
        "invalid",
        `messages[${i}] must be an object with a role`,
        "invalid_value",
        `messages[${i}]`,
      );
  return b as ChatRequest;
}

function parseEmbeddings(body: unknown): EmbeddingRequest {
  const b = withModel<EmbeddingRequest>(body);
  if (b.input === undefined || b.input === null || (Array.isArray(b.input) && b.input.length === 0))
    throw new LlmError("invalid", "'input' must be a string or a non-empty array", "invalid_value", "input");
  return b as EmbeddingRequest;
}
