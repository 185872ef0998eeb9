import type { CircuitBreakers } from "./circuit";
import { LlmError } from "./errors";
import type { LlmMetrics } from "./metrics";
import type {
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from "./openai-types";
import type { ProviderFactory } from "./provider-factory";
import { type LlmProvider, ProviderError, type VirtualModelProvider } from "./provider-port";
import { type ApprovalGate, notApproved } from "./route-approval";
import type { RouteStore } from "./route-store";
import type { Deployment, Route } from "./routes";

/** One place a request can go: a route's deployment, or a virtual provider. */
export interface Target {
  route: Route;
  deployment: Deployment;
  provider: LlmProvider;
}

/** What a request resolved to: the route it names (after the complexity rule) or a virtual provider. */
export interface Resolved {
  route: Route;
  virtual?: VirtualModelProvider;
}

export interface Served<T> {
  value: T;
  target: Target;
  /** Deployments tried before the one that answered. */
  fallbacks: number;
  /**
   * Milliseconds spent waiting for upstreams: every try from sending to its answer (headers and
   * body; a stream's first chunk) and the backoff between tries. The rest of a request's time
   * is the gateway's own overhead (`x-keel-overhead-ms`).
   */
  upstreamMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends a request through its route: a deployment chosen by weight, then the route's other
 * deployments, then each fallback route in turn. A deployment is skipped while its circuit is
 * open; a retryable failure (5xx, timeout, 429) is retried with jittered exponential backoff
 * up to the route's `retries`, then the next deployment is tried. A caller's mistake (other
 * 4xx) is answered at once. Streams are retried and fall back only before their first chunk.
 */
export class LlmRouter {
  private readonly virtuals: VirtualModelProvider[] = [];
  /** Re-checks deployments naming a registered model version on every plan (cached; see ApprovalGate). */
  approvals?: ApprovalGate;
  constructor(
    private readonly routes: RouteStore,
    private readonly providers: ProviderFactory,
    private readonly circuits: CircuitBreakers,
    private readonly metrics: LlmMetrics,
    private readonly random: () => number = Math.random,
  ) {}

  /** The hook for virtual model names (e.g. `rag:`): see VirtualModelProvider. */
  registerVirtual(v: VirtualModelProvider): void {
    if (this.virtuals.some((x) => x.prefix === v.prefix))
      throw new Error(`a virtual provider is already registered for '${v.prefix}'`);
    this.virtuals.push(v);
  }

  /** Whether a model name is a virtual one (served by a registered VirtualModelProvider). */
  isVirtual(model: unknown): boolean {
    return typeof model === "string" && this.virtuals.some((v) => model.startsWith(v.prefix));
  }

  async virtualModels(): Promise<string[]> {
    return (await Promise.all(this.virtuals.map((v) => v.list?.() ?? []))).flat();
  }

  /** As `resolve`, synchronously when the routes it needs are cached (no promise on the request path). */
  resolveNow(model: string, promptTokens: () => number): Resolved | Promise<Resolved> {
    if (this.isVirtual(model)) return this.resolve(model, promptTokens);
    const route = this.routes.getNow(model);
    if (route instanceof Promise) return this.resolve(model, promptTokens);
    if (!route) throw modelNotFound(model);
    if (route.complexity && promptTokens() <= route.complexity.maxPromptTokens) {
      const small = this.routes.getNow(route.complexity.model);
      if (small instanceof Promise) return small.then((x) => ({ route: x ?? route }));
      if (small) return { route: small };
    }
    return { route };
  }

  /** The route a model name resolves to; 404 model_not_found saying how to add one. */
  async resolve(model: string, promptTokens: () => number): Promise<Resolved> {
    const virtual = this.virtuals.find((v) => model.startsWith(v.prefix));
    if (virtual) {
      const price = virtual.price ?? { input: 0, output: 0 };
      return {
        virtual,
        route: {
          model,
          deployments: [
            { id: virtual.prefix.replace(/:$/, ""), provider: "openai", model, weight: 1, price },
          ],
          fallbacks: [],
          timeoutMs: 120_000,
          retries: 0,
        },
      };
    }
    const route = await this.routes.get(model);
    if (!route) throw modelNotFound(model);
    if (route.complexity && promptTokens() <= route.complexity.maxPromptTokens) {
      const small = await this.routes.get(route.complexity.model);
      if (small) return { route: small };
    }
    return { route };
  }

  /**
   * As `plan`, synchronously when no deployment needs an approval check and every fallback
   * route is cached; else the same as `plan`.
   */
  planNow(resolved: Resolved): Target[] | Promise<Target[]> {
    if (resolved.virtual) return this.plan(resolved);
    const out: Target[] = [];
    const seen = new Set<string>();
    const visit = (route: Route): boolean => {
      if (seen.has(route.model)) return true;
      seen.add(route.model);
      for (const d of this.weightedOrder(route.deployments)) {
        if (d.registeredModel && this.approvals) return false;
        out.push({ route, deployment: d, provider: this.providers.provider(d) });
      }
      for (const name of route.fallbacks) {
        const next = this.routes.getNow(name);
        if (next instanceof Promise) return false;
        if (next && !visit(next)) return false;
      }
      return true;
    };
    return visit(resolved.route) ? out : this.plan(resolved);
  }

  /** Deployments in the order they are tried, fallback routes included. */
  async plan(resolved: Resolved): Promise<Target[]> {
    if (resolved.virtual)
      return [
        {
          route: resolved.route,
          deployment: resolved.route.deployments[0],
          provider: resolved.virtual.provider,
        },
      ];
    const out: Target[] = [];
    const seen = new Set<string>();
    const refused: string[] = [];
    const visit = async (route: Route) => {
      if (seen.has(route.model)) return;
      seen.add(route.model);
      for (const d of this.weightedOrder(route.deployments)) {
        const ref = d.registeredModel;
        const why = ref && this.approvals ? await this.approvals.refused(ref.name, ref.version) : undefined;
        if (why) refused.push(`deployment '${d.id}' serves ${why}`);
        else out.push({ route, deployment: d, provider: this.providers.provider(d) });
      }
      for (const name of route.fallbacks) {
        const next = await this.routes.get(name);
        if (next) await visit(next);
      }
    };
    await visit(resolved.route);
    // A refused deployment is left out (its route's other deployments and fallbacks answer);
    // with none left the request is refused, naming why.
    if (!out.length && refused.length) throw notApproved(resolved.route, refused);
    return out;
  }

  /** A weighted random first choice, the rest by weight (zero-weight deployments only as fallbacks). */
  private weightedOrder(ds: Deployment[]): Deployment[] {
    const pool = [...ds];
    const out: Deployment[] = [];
    while (pool.length) {
      const total = pool.reduce((n, d) => n + d.weight, 0);
      let i = 0;
      if (total > 0) {
        let x = this.random() * total - pool[0].weight;
        while (i < pool.length - 1 && x >= 0) {
          i++;
          x -= pool[i].weight;
        }
      }
      out.push(pool.splice(i, 1)[0]);
    }
    return out;
  }

  private circuitKey(t: Target): string {
    return `${t.route.model}/${t.deployment.id}`;
  }

  /**
   * Tries the plan in order: `attempt` runs one try with its own abort signal (timeout). Returns
   * the first success; throws the caller's mistake at once, or an upstream error after all failed.
   */
  private async run<T>(
    plan: Target[],
    attempt: (
      t: Target,
      signal: AbortSignal,
      started: (ok: boolean) => void,
      opts: { timeoutMs: number },
    ) => Promise<T>,
    caller?: AbortSignal,
  ): Promise<Served<T>> {
    let last: ProviderError | undefined;
    let fallbacks = 0;
    let upstreamMs = 0;
    for (const target of plan) {
      const key = this.circuitKey(target);
      if (!this.circuits.allow(key)) {
        fallbacks++;
        last ??= new ProviderError(503, `circuit open for ${key}`);
        continue;
      }
      const tries = 1 + target.route.retries;
      for (let n = 0; n < tries; n++) {
        if (n > 0) {
          const slept = performance.now();
          await sleep(backoffMs(n, this.random));
          upstreamMs += performance.now() - slept;
        }
        const timeoutMs = target.deployment.timeoutMs ?? target.route.timeoutMs;
        if (caller?.aborted) throw new LlmError("upstream", "the caller went away", "client_closed");
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(), timeoutMs);
        // The caller leaving aborts this try (and a stream it opened) as a timeout would.
        caller?.addEventListener("abort", () => ctl.abort(), { once: true, signal: ctl.signal });
        const clear = () => clearTimeout(timer);
        const sent = performance.now();
        try {
          const value = await attempt(target, ctl.signal, clear, { timeoutMs });
          upstreamMs += performance.now() - sent;
          this.circuits.success(key);
          if (fallbacks > 0) this.metrics.fallbacks.inc({ model: target.route.model });
          return { value, target, fallbacks, upstreamMs };
        } catch (e) {
          upstreamMs += performance.now() - sent;
          clear();
          // Not the deployment's fault: no circuit failure, no further tries.
          if (caller?.aborted) throw new LlmError("upstream", "the caller went away", "client_closed");
          const err = e instanceof ProviderError ? e : new ProviderError(502, (e as Error).message);
          this.metrics.upstreamErrors.inc({ model: target.route.model, status: String(err.status) });
          if (!err.retryable) throw callerError(err);
          this.circuits.failure(key);
          last = err;
          if (err.status === 429 || this.circuits.isOpen(key)) break;
        }
      }
      fallbacks++;
    }
    throw upstreamFailed(last);
  }

  chat(plan: Target[], request: ChatRequest, caller?: AbortSignal): Promise<Served<ChatCompletion>> {
    return this.run(
      plan,
      async (t, signal, done, opts) => {
        try {
          return await t.provider.chat({ ...request, model: t.deployment.model }, signal, opts);
        } finally {
          done(true);
        }
      },
      caller,
    );
  }

  /** Opens a stream and reads its first chunk under the plan's fallback rules. */
  stream(
    plan: Target[],
    request: ChatRequest,
    caller?: AbortSignal,
  ): Promise<Served<{ first: ChatChunk | undefined; rest: AsyncIterator<ChatChunk> }>> {
    return this.run(
      plan,
      async (t, signal, done, opts) => {
        const it = t.provider
          .chatStream({ ...request, model: t.deployment.model }, signal, opts)
          [Symbol.asyncIterator]();
        const first = await it.next();
        done(true);
        return { first: first.done ? undefined : first.value, rest: it };
      },
      caller,
    );
  }

  embeddings(
    plan: Target[],
    request: EmbeddingRequest,
    caller?: AbortSignal,
  ): Promise<Served<EmbeddingResponse>> {
    return this.run(
      plan,
      async (t, signal, done, opts) => {
        if (!t.provider.embeddings)
          throw new ProviderError(
            400,
            `deployment ${t.deployment.id} (${t.provider.kind}) serves no embeddings`,
          );
        try {
          return await t.provider.embeddings({ ...request, model: t.deployment.model }, signal, opts);
        } finally {
          done(true);
        }
      },
      caller,
    );
  }
}

/** Full jitter: a random wait up to 100 ms * 2^(n-1), capped at 2 s. */
function backoffMs(n: number, random: () => number): number {
  return Math.floor(random() * Math.min(2000, 100 * 2 ** (n - 1)));
}

export function modelNotFound(model: string): LlmError {
  return new LlmError(
    "not_found",
    `The model '${model}' does not exist: no route serves it. Add one with ` +
      `'keel llm route add ${model} --base-url <OpenAI-compatible base URL>' (or PUT /api/v1/llm/routes/${model}), ` +
      `or configure KEEL_LLM_UPSTREAMS='${model}=http://localhost:11434/v1'.`,
    "model_not_found",
    "model",
  );
}

function callerError(e: ProviderError): LlmError {
  const status = e.status >= 400 && e.status < 500 ? e.status : 400;
  // The upstream's own credentials are the platform's problem, not the caller's: 502.
  if (status === 401 || status === 403)
    return new LlmError(
      "upstream",
      `upstream refused the gateway's credentials: ${e.message}`,
      "upstream_auth",
    );
  return new LlmError(
    "invalid",
    `upstream refused the request: ${e.body?.message ?? e.message}`,
    e.body?.code ?? null,
    e.body?.param ?? null,
    {},
    status,
  );
}

function upstreamFailed(last: ProviderError | undefined): LlmError {
  if (last?.status === 504)
    return new LlmError("timeout", "every deployment of the route timed out", "upstream_timeout");
  if (last?.status === 429)
    return new LlmError(
      "rate_limited",
      `every deployment of the route is rate limited upstream: ${last.message}`,
      "upstream_rate_limited",
      null,
      { "retry-after": String(last.retryAfterSeconds ?? 1) },
    );
  return new LlmError(
    "upstream",
    `every deployment of the route failed; last: ${last?.message ?? "unknown"}`,
    "upstream_error",
    null,
    {},
    last?.status === 503 ? 503 : 502,
  );
}
