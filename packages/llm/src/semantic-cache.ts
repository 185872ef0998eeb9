import { type Clock, digest, type Logger } from "@keel/core";
import type { ChatCompletion, ChatMessage, ChatRequest } from "./openai-types";
import type { Route } from "./routes";

/**
 * The part of RAG's VectorStore port (packages/rag/src/vector-store.ts) the semantic cache uses,
 * declared here so llm does not depend on rag: the platform passes the same store (LanceDB under
 * the data dir locally, `s3://` in AWS). A cache entry is one "chunk": `doc` is the entry id,
 * `team` the entry's scope key, `heading` its expiry (ms since the epoch), `text` the answer.
 */
export interface CacheVectorStore {
  replaceDocuments(collection: string, docs: string[], chunks: CacheRecord[]): Promise<void>;
  deleteDocuments(collection: string, docs: string[]): Promise<void>;
  vectorSearch(
    collection: string,
    vector: number[],
    opts: { k: number; scope: { all: true }; filter?: { team?: string[] } },
  ): Promise<Array<{ chunk: Omit<CacheRecord, "vector">; score: number }>>;
  count(collection: string): Promise<number>;
  updateIndexes(collection: string, settings: { annMinRows: number }): Promise<unknown>;
}

export interface CacheRecord {
  id: string;
  doc: string;
  ordinal: number;
  text: string;
  title: string;
  heading: string;
  team: string;
  classification: string;
  tags: string[];
  tokens: number;
  vector?: number[];
}

export type SemanticSettings = NonNullable<Route["semanticCache"]>;

/** Fields that change how an answer is delivered or billed, not what it says. */
const DELIVERY = new Set(["stream", "stream_options", "user", "metadata", "store", "messages", "model"]);
/** Entries written before the ANN index is (re)built; below ANN_MIN_ROWS the search is exact. */
const INDEX_EVERY = 2000;
const ANN_MIN_ROWS = 5000;
/** The newest part of the conversation that is embedded (characters). */
const MAX_TEXT = 8000;

function text(m: ChatMessage): string {
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content))
    return m.content.map((p) => (p && typeof p.text === "string" ? p.text : "")).join(" ");
  return "";
}

/** What is embedded: every non-system message as `role: text`, newest last, at most MAX_TEXT characters. */
export function conversationText(request: ChatRequest): string {
  const out = request.messages
    .filter((m) => m.role !== "system" && m.role !== "developer")
    .map((m) => `${m.role}: ${text(m).trim()}`)
    .join("\n");
  return out.length > MAX_TEXT ? out.slice(out.length - MAX_TEXT) : out;
}

/**
 * An entry's scope: the route (its models and guardrails), the system prompt, the request's other answer-changing
 * fields (temperature, tools, response_format, ...) and, unless the route shares answers, the
 * team. Lookups search only their own scope (a prefilter inside the vector query), so team A's
 * answer is never served to team B, nor an answer given under another system prompt.
 */
export function scopeOf(route: Route, request: ChatRequest, team: string): string {
  const system = request.messages.filter((m) => m.role === "system" || m.role === "developer").map(text);
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (!DELIVERY.has(k) && v !== null) params[k] = v;
  return digest({
    route: route.model,
    // A route that changes its models or guardrails starts a fresh cache.
    models: route.deployments.map((d) => d.model),
    guardrails: route.guardrails ?? null,
    system,
    params,
    team: route.semanticCache?.shared ? "*" : team,
  });
}

/** One collection per route and embedding model (vectors of one model have one width). */
export const collectionOf = (route: string, embeddingModel: string) =>
  `_llm_cache_${route}_${embeddingModel}`.replace(/[^A-Za-z0-9_-]/g, "_");

/** A cache entry as the vector store keeps it (see CacheVectorStore). */
export function entryRecord(
  id: string,
  scope: string,
  vector: number[],
  completion: ChatCompletion,
  model: string,
  expiresAt: number,
): CacheRecord {
  return {
    id,
    doc: id,
    ordinal: 0,
    text: JSON.stringify(completion),
    title: model,
    heading: String(expiresAt),
    team: scope,
    classification: "llm-cache",
    tags: [],
    tokens: 0,
    vector,
  };
}

export interface SemanticProbe {
  /** The stored answer, when one within the threshold and TTL exists in the scope. */
  hit?: { completion: ChatCompletion; similarity: number };
  /** Stores the answer to this request (off the answer's path; errors are logged). */
  store(completion: ChatCompletion): void;
}

interface Pending {
  collection: string;
  maxEntries: number;
  records: CacheRecord[];
}

/**
 * The semantic cache. A probe embeds the conversation (through the gateway's own embeddings
 * path, as the caller), searches the route's collection within the request's scope for the
 * nearest stored conversation and serves its answer when the cosine similarity reaches the
 * route's threshold and the entry has not expired. Writes are batched (one commit per
 * collection per flush); each flush evicts this process's oldest entries past `maxEntries`
 * and its expired ones (expired entries are also refused on read and deleted when met).
 */
export class SemanticCache {
  private readonly pending = new Map<string, Pending>();
  /** Entries this process wrote, oldest first, per collection: [doc id, expiresAt]. */
  private readonly written = new Map<string, Array<[string, number]>>();
  private readonly sinceIndex = new Map<string, number>();
  private timer?: ReturnType<typeof setTimeout>;
  private flushing: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(
    private readonly store: CacheVectorStore,
    private readonly clock: Clock,
    private readonly log?: Logger,
    private readonly flushMs = 50,
  ) {}

  async probe(
    route: Route,
    request: ChatRequest,
    team: string,
    embed: (model: string, input: string) => Promise<number[]>,
  ): Promise<SemanticProbe | undefined> {
    const s = route.semanticCache;
    if (!s) return undefined;
    const conversation = conversationText(request);
    if (!conversation) return undefined;
    const vector = await embed(s.embeddingModel, conversation);
    const scope = scopeOf(route, request, team);
    const collection = collectionOf(route.model, s.embeddingModel);
    const hit = await this.lookup(collection, scope, vector, s.threshold);
    return {
      hit,
      store: (completion) => this.add(collection, s, scope, vector, completion, route.model),
    };
  }

  /** The nearest unexpired entry of the scope at or above the threshold. */
  async lookup(
    collection: string,
    scope: string,
    vector: number[],
    threshold: number,
  ): Promise<SemanticProbe["hit"]> {
    const hits = await this.store.vectorSearch(collection, vector, {
      k: 4,
      scope: { all: true },
      filter: { team: [scope] },
    });
    const now = this.clock.now();
    const expired = hits.filter((h) => Number(h.chunk.heading) <= now).map((h) => h.chunk.doc);
    if (expired.length) this.store.deleteDocuments(collection, expired).catch((e) => this.warn("evict", e));
    const best = hits.find((h) => Number(h.chunk.heading) > now && h.score >= threshold);
    if (!best) return undefined;
    return { completion: JSON.parse(best.chunk.text) as ChatCompletion, similarity: best.score };
  }

  private add(
    collection: string,
    s: SemanticSettings,
    scope: string,
    vector: number[],
    completion: ChatCompletion,
    model: string,
  ): void {
    const id = `${this.clock.now().toString(36)}-${(this.seq++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const expiresAt = this.clock.now() + s.ttlSeconds * 1000;
    let p = this.pending.get(collection);
    if (!p) {
      p = { collection, maxEntries: s.maxEntries, records: [] };
      this.pending.set(collection, p);
    }
    p.maxEntries = s.maxEntries;
    p.records.push(entryRecord(id, scope, vector, completion, model, expiresAt));
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs);
      this.timer.unref?.();
    }
  }

  /** Writes what waits (one commit per collection), then evicts expired and excess entries. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batches = [...this.pending.values()];
    this.pending.clear();
    this.flushing = this.flushing.then(async () => {
      for (const b of batches) await this.write(b).catch((e) => this.warn("write", e));
    });
    return this.flushing;
  }

  private async write(b: Pending): Promise<void> {
    const docs = b.records.map((r) => r.doc);
    await this.store.replaceDocuments(b.collection, docs, b.records);
    let mine = this.written.get(b.collection);
    if (!mine) {
      mine = [];
      this.written.set(b.collection, mine);
    }
    for (const r of b.records) mine.push([r.doc, Number(r.heading)]);
    const now = this.clock.now();
    const excess = Math.max(0, (await this.store.count(b.collection)) - b.maxEntries);
    const evict = new Set(mine.filter(([, exp]) => exp <= now).map(([d]) => d));
    for (const [d] of mine) {
      if (evict.size >= excess) break;
      evict.add(d);
    }
    if (evict.size) {
      await this.store.deleteDocuments(b.collection, [...evict]);
      this.written.set(
        b.collection,
        mine.filter(([d]) => !evict.has(d)),
      );
    }
    const n = (this.sinceIndex.get(b.collection) ?? 0) + b.records.length;
    if (n >= INDEX_EVERY) {
      await this.store.updateIndexes(b.collection, { annMinRows: ANN_MIN_ROWS });
      this.sinceIndex.set(b.collection, 0);
    } else this.sinceIndex.set(b.collection, n);
  }

  private warn(what: string, e: unknown) {
    this.log?.warn?.(`llm semantic cache ${what} failed`, { error: String(e) });
  }
}
