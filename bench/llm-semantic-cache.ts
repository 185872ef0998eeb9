/**
 * The semantic cache's lookup at 100,000 entries (issue 15): entries written into LanceDB (the
 * VectorStore RAG uses, a local folder) the way the cache writes them, spread over scopes (route
 * x system prompt x team), then lookups as the gateway makes them (nearest entries of the
 * request's scope, a prefilter inside the vector query, expiry and threshold checked): half are
 * near-duplicates of a stored conversation (should hit), half are new (should miss). Measured
 * without the ANN index (exact search over the scope) and with it (IVF-PQ, as the cache builds
 * once a collection holds 5,000 entries). The embedding call itself is not included: it is an
 * upstream request, measured by llm-gateway.
 *
 * Usage: npm run bench -- llm-semantic-cache [--entries 100000] [--dims 384] [--scopes 100] [--lookups 2000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { systemClock } from "@keel/core";
import { type ChatCompletion, collectionOf, entryRecord, SemanticCache } from "@keel/llm";
import { LanceDbVectorStore } from "@keel/rag";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "100000" },
    dims: { type: "string", default: "384" },
    scopes: { type: "string", default: "100" },
    lookups: { type: "string", default: "2000" },
  },
});
const ENTRIES = Number(values.entries);
const DIMS = Number(values.dims);
const SCOPES = Number(values.scopes);
const LOOKUPS = Number(values.lookups);
const THRESHOLD = 0.95;

/** mulberry32: a seeded generator, so runs compare. */
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const gauss = () => Math.sqrt(-2 * Math.log(random() || 1e-9)) * Math.cos(2 * Math.PI * random());
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const randomVector = () => unit(Array.from({ length: DIMS }, gauss));
/** A paraphrase: the stored vector plus a little noise (cosine ~0.98). */
const near = (v: number[]) => unit(v.map((x) => x + (0.15 * gauss()) / Math.sqrt(DIMS)));

const answer: ChatCompletion = {
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 0,
  model: "chat",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "A cached answer of a typical length. ".repeat(8) },
      finish_reason: "stop",
    },
  ],
  usage: { prompt_tokens: 40, completion_tokens: 80, total_tokens: 120 },
};

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function measure(
  cache: SemanticCache,
  collection: string,
  stored: Array<{ scope: string; v: number[] }>,
) {
  const times: number[] = [];
  let hits = 0;
  let falseHits = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const e = stored[Math.floor(random() * stored.length)];
    const dup = i % 2 === 0;
    const q = dup ? near(e.v) : randomVector();
    const t0 = performance.now();
    const hit = await cache.lookup(collection, e.scope, q, THRESHOLD);
    times.push(performance.now() - t0);
    if (dup && hit) hits++;
    if (!dup && hit) falseHits++;
  }
  return {
    p50: pct(times, 0.5).toFixed(2),
    p99: pct(times, 0.99).toFixed(2),
    dupHitRate: (hits / (LOOKUPS / 2)).toFixed(3),
    falseHits,
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "keel-semcache-bench-"));
  const store = new LanceDbVectorStore(dir);
  const cache = new SemanticCache(store, systemClock);
  const collection = collectionOf("chat", "embed");
  const expiresAt = Date.now() + 3_600_000;
  const stored: Array<{ scope: string; v: number[] }> = [];
  const t0 = performance.now();
  const BATCH = 10_000;
  for (let i = 0; i < ENTRIES; i += BATCH) {
    const records = [];
    for (let j = i; j < Math.min(ENTRIES, i + BATCH); j++) {
      const scope = `scope-${j % SCOPES}`;
      const v = randomVector();
      if (j % 50 === 0) stored.push({ scope, v });
      records.push(entryRecord(`e${j}`, scope, v, answer, "chat", expiresAt));
    }
    await store.replaceDocuments(
      collection,
      records.map((r) => r.doc),
      records,
    );
  }
  const writeS = (performance.now() - t0) / 1000;
  console.log(`wrote ${ENTRIES} entries (${DIMS}-d, ${SCOPES} scopes) in ${writeS.toFixed(1)} s`);
  const exact = await measure(cache, collection, stored);
  console.log(
    `lookup, no ANN index: p50 ${exact.p50} ms, p99 ${exact.p99} ms, paraphrase hit rate ${exact.dupHitRate}, false hits ${exact.falseHits}`,
  );
  const t1 = performance.now();
  const state = await store.updateIndexes(collection, { annMinRows: 5000 });
  console.log(`indexes built in ${((performance.now() - t1) / 1000).toFixed(1)} s: ${JSON.stringify(state)}`);
  const ann = await measure(cache, collection, stored);
  console.log(
    `lookup, IVF-PQ index: p50 ${ann.p50} ms, p99 ${ann.p99} ms, paraphrase hit rate ${ann.dupHitRate}, false hits ${ann.falseHits}`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
