/**
 * RAG figures on this machine, on real LanceDB in a temporary folder:
 *  - ingestion rate (chunks/s) of Markdown documents: chunking + LanceDB writes + index
 *    refresh, EXCLUDING embedding (the model provider is a stub that returns precomputed
 *    vectors; its time is measured apart and subtracted);
 *  - retrieval p50/p99 at N chunks (default 100,000; `--chunks 1000000`): vector (ANN, IVF-PQ),
 *    full text (BM25), hybrid (both + RRF, through the Retriever, query embedding excluded),
 *    each also with a document-level security scope (the prefilter every caller gets);
 *  - ANN recall@10 against exact search over the same queries.
 * Vectors are a Gaussian mixture (clustered, like real sentence embeddings), unit length; text is
 * drawn from a Zipf vocabulary so BM25 has common and rare terms.
 * Run: npm run bench -- rag [--chunks 100000] [--dims 384] [--queries 200] [--docs 2000] [--ann-min-rows 10000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg as osLoadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { withContext } from "@keel/core";
import { SqliteMetadataStore } from "@keel/metadata";
import {
  type AccessScope,
  type ChunkRecord,
  DocumentRegistry,
  Ingestor,
  ivfPqSettings,
  type KnowledgeBase,
  LanceDbVectorStore,
  type LlmClient,
  Retriever,
} from "@keel/rag";

const { values } = parseArgs({
  options: {
    chunks: { type: "string", default: "100000" },
    dims: { type: "string", default: "384" },
    queries: { type: "string", default: "200" },
    docs: { type: "string", default: "2000" },
    /** Build the IVF-PQ index from this many chunks (a huge value measures exact vector search only). */
    "ann-min-rows": { type: "string", default: "10000" },
  },
});
const N = Number(values.chunks);
const DIMS = Number(values.dims);
const QUERIES = Number(values.queries);
const DOCS = Number(values.docs);

// Deterministic PRNG (mulberry32) and a normal sampler.
let seed = 42;
const rand = () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const unit = (v: number[]) => {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
};
const CENTERS = Array.from({ length: 1000 }, () => unit(Array.from({ length: DIMS }, gauss)));
const vectorNear = (c: number[], spread = 0.35) =>
  unit(c.map((x) => x + ((spread * gauss()) / Math.sqrt(DIMS)) * 4));
const randomVector = () => vectorNear(CENTERS[Math.floor(rand() * CENTERS.length)]);

const VOCAB = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);
const zipfWord = () =>
  VOCAB[Math.min(VOCAB.length - 1, Math.floor(Math.exp(rand() * Math.log(VOCAB.length))) - 1)];
const sentence = (n: number) => Array.from({ length: n }, zipfWord).join(" ");

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x: number) => `${x.toFixed(1)} ms`;
const loadavg = () =>
  osLoadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** A model provider that costs nothing: vectors precomputed per text (embedding excluded from the figures). */
function stubLlm(vectorOf: (text: string) => number[]): LlmClient & { embedMs: number } {
  const llm = {
    embedMs: 0,
    async embed(_model: string, texts: string[]) {
      const t = performance.now();
      const out = texts.map(vectorOf);
      llm.embedMs += performance.now() - t;
      return out;
    },
    async chat() {
      return { content: "" };
    },
    async *chatStream() {},
    async rerank() {
      return [];
    },
  };
  return llm;
}

function knowledgeBase(name: string): KnowledgeBase {
  return {
    name,
    description: "",
    embedding: { model: "stub" },
    chunking: { maxTokens: 256, overlapTokens: 32 },
    ownerTeam: "t0",
    teams: { t0: ["bench"] },
    access: { classifications: { public: ["*"] } },
    defaultClassification: "internal",
    retrieval: {
      k: 10,
      vectorWeight: 1,
      textWeight: 1,
      rrfK: 60,
      rerank: false,
      minSimilarity: 0,
      minRerankScore: 0,
      minTextScore: 0,
    },
    annMinRows: 10_000,
    createdAt: 0,
    createdBy: "bench",
    updatedAt: 0,
  };
}

const dir = mkdtempSync(join(tmpdir(), "keel-bench-rag-"));
const store = new LanceDbVectorStore(dir);

async function ingestion() {
  // Markdown documents of 8 sections x 3 paragraphs, as a handbook would have.
  const docs = Array.from({ length: DOCS }, (_, d) => ({
    uri: `docs/d${d}.md`,
    content: [
      `# Document ${d}`,
      ...Array.from({ length: 8 }, (_, s) =>
        [`## Section ${s}`, sentence(60), sentence(80), sentence(40)].join("\n\n"),
      ),
    ].join("\n\n"),
  }));
  const llm = stubLlm(() => randomVector());
  const ingestor = new Ingestor({
    vectors: store,
    docs: new DocumentRegistry(new SqliteMetadataStore({ path: ":memory:" })),
    llm,
    now: Date.now,
  });
  // The ANN index is measured apart (at the retrieval table): this is chunking, writes and BM25.
  const kb = { ...knowledgeBase("ingest"), annMinRows: 100_000_000 };
  const [r, wall] = await timed(() => ingestor.ingest(kb, docs));
  const excluding = wall - llm.embedMs;
  console.log(
    `ingestion: ${DOCS} Markdown docs -> ${r.chunks} chunks (${DIMS}-d) in ${(wall / 1000).toFixed(1)} s wall, ` +
      `${(llm.embedMs / 1000).toFixed(2)} s in the (stub) embedder, excluded`,
  );
  console.log(
    `  ${Math.round(r.chunks / (excluding / 1000))} chunks/s excluding embedding ` +
      `(chunking ${r.timings.chunkSeconds.toFixed(1)} s, LanceDB writes ${r.timings.writeSeconds.toFixed(1)} s, ` +
      `BM25 index ${(excluding / 1000 - r.timings.chunkSeconds - r.timings.writeSeconds).toFixed(1)} s)`,
  );
  const [, again] = await timed(() => ingestor.ingest(kb, docs));
  console.log(
    `  re-ingest unchanged: ${(again / 1000).toFixed(2)} s (${Math.round(DOCS / (again / 1000))} docs/s skipped)`,
  );
  await store.dropCollection("ingest");
}

async function retrieval() {
  const kb = knowledgeBase("retrieve");
  const started = performance.now();
  const BATCH = 10_000;
  const teams = ["t0", "t1", "t2", "t3"];
  for (let i = 0; i < N; i += BATCH) {
    const rows: ChunkRecord[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) {
      rows.push({
        id: `d${j >> 3}#${j & 7}`,
        doc: `d${j >> 3}`,
        ordinal: j & 7,
        text: sentence(60),
        title: `Doc ${j >> 3}`,
        heading: "",
        team: teams[j % teams.length],
        classification: j % 10 === 0 ? "public" : "internal",
        tags: [],
        tokens: 60,
        vector: randomVector(),
      });
    }
    await store.replaceDocuments(kb.name, [...new Set(rows.map((r) => r.doc))], rows);
    if ((i + BATCH) % 100_000 === 0 && i + BATCH < N)
      console.log(
        `  ${i + BATCH} chunks written, ${((performance.now() - started) / 1000).toFixed(1)} s (load ${loadavg()})`,
      );
  }
  const loaded = performance.now();
  console.log(
    `\nretrieval: ${N} chunks (${DIMS}-d) written in ${((loaded - started) / 1000).toFixed(1)} s (load ${loadavg()})`,
  );
  // Compaction + BM25 first, then IVF-PQ, timed apart.
  await store.updateIndexes(kb.name, { annMinRows: Number.MAX_SAFE_INTEGER });
  const textIndexed = performance.now();
  console.log(
    `  compaction + BM25 index: ${((textIndexed - loaded) / 1000).toFixed(1)} s (load ${loadavg()})`,
  );
  const state = await store.updateIndexes(kb.name, { annMinRows: Number(values["ann-min-rows"]) });
  const indexed = performance.now();
  console.log(
    `  IVF-PQ ${state.vectorIndex ? JSON.stringify(ivfPqSettings(state.rows, DIMS)) : "not built"}: ` +
      `${((indexed - textIndexed) / 1000).toFixed(1)} s (load ${loadavg()})`,
  );

  const queries = Array.from({ length: QUERIES }, () => ({
    vector: randomVector(),
    text: `${zipfWord()} ${zipfWord()} ${sentence(4)}`,
  }));
  const all: AccessScope = { all: true };
  const scoped: AccessScope = { teams: ["t1"], classifications: ["public"] };
  const vectorOf = new Map(queries.map((q) => [q.text, q.vector]));
  const retriever = new Retriever(
    store,
    stubLlm((t) => vectorOf.get(t) as number[]),
  );
  const run = async (label: string, fn: (q: (typeof queries)[number]) => Promise<unknown>) => {
    for (const q of queries.slice(0, 10)) await fn(q); // warm-up
    const lat: number[] = [];
    for (const q of queries) lat.push((await timed(() => fn(q)))[1]);
    console.log(
      `  ${label.padEnd(38)} p50 ${ms(pct(lat, 50)).padStart(9)}  p99 ${ms(pct(lat, 99)).padStart(9)}`,
    );
  };
  await run("vector (ANN), k=10", (q) => store.vectorSearch(kb.name, q.vector, { k: 10, scope: all }));
  await run("vector (ANN), k=10, security scope", (q) =>
    store.vectorSearch(kb.name, q.vector, { k: 10, scope: scoped }),
  );
  await run("vector (exact), k=10", (q) =>
    store.vectorSearch(kb.name, q.vector, { k: 10, scope: all, exact: true }),
  );
  await run("full text (BM25), k=10", (q) => store.textSearch(kb.name, q.text, { k: 10, scope: all }));
  await run("full text (BM25), k=10, security scope", (q) =>
    store.textSearch(kb.name, q.text, { k: 10, scope: scoped }),
  );
  const asBench = <T>(fn: () => Promise<T>) =>
    withContext({ principal: "bench", requestId: "b", roles: ["viewer"] }, fn);
  await run("hybrid (RRF of 40 + 40), k=10", (q) =>
    asBench(() => retriever.retrieve(kb, { query: q.text, k: 10 })),
  );

  if (!state.vectorIndex) return;
  // ANN recall@10 against exact search.
  let hit = 0;
  for (const q of queries) {
    const exact = await store.vectorSearch(kb.name, q.vector, { k: 10, scope: all, exact: true });
    const ann = await store.vectorSearch(kb.name, q.vector, { k: 10, scope: all });
    const truth = new Set(exact.map((h) => h.chunk.id));
    hit += ann.filter((h) => truth.has(h.chunk.id)).length;
  }
  console.log(
    `  ANN recall@10 vs exact: ${(hit / (queries.length * 10)).toFixed(3)} (${queries.length} queries; load ${loadavg()})`,
  );
}

console.log(`LANCE_CPU_THREADS=${process.env.LANCE_CPU_THREADS ?? "(Keel's default)"}, load ${loadavg()}`);
try {
  if (DOCS > 0) await ingestion();
  await retrieval();
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
