import { BoundedCache, type Clock, digest } from "@keel/core";
import type { ChatCompletion, ChatRequest } from "./openai-types";

/** Fields that change how an answer is delivered or billed, not what it says. */
const IGNORED = new Set(["stream", "stream_options", "user", "metadata", "store"]);

/**
 * The exact cache: answers keyed by the normalized request (fields that do not change the
 * answer dropped, keys sorted, message text trimmed) and the route, each kept for its route's
 * TTL. In process (per Lambda instance), bounded by entries.
 */
export class ExactCache {
  private readonly entries: BoundedCache<string, { value: ChatCompletion; expiresAt: number }>;
  constructor(
    private readonly clock: Clock,
    maxEntries = 10_000,
  ) {
    this.entries = new BoundedCache({ maxEntries, now: () => clock.now() });
  }

  keyOf(route: string, request: ChatRequest): string {
    const norm: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(request)) if (!IGNORED.has(k) && v !== null) norm[k] = v;
    norm.messages = request.messages.map((m) =>
      typeof m.content === "string" ? { ...m, content: m.content.trim() } : m,
    );
    return digest({ route, request: norm });
  }

  get(key: string): ChatCompletion | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, value: ChatCompletion, ttlSeconds: number): void {
    this.entries.set(key, { value, expiresAt: this.clock.now() + ttlSeconds * 1000 });
  }
}
