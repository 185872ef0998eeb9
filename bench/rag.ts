/**
 * RAG figures on this machine, on real LanceDB in a temporary folder (or a kept one):
 *  - ingestion rate (chunks/s) of Markdown documents: chunking + LanceDB writes + index
 *    refresh, EXCLUDING embedding (the model provider is a stub that returns precomputed
 *    vectors; its time is measured apart and subtracted);
 *  - retrieval p50/p99 at N chunks (default 100,000; `--chunks 1000000`): vector (ANN), full
 *    text (BM25), hybrid (both + RRF, through the Retriever, query embedding excluded), each also
 *    with a document-level security scope (the prefilter every caller gets), and the scoped
 *    query's plan (does the prefilter use the scalar indexes);
 *  - ANN recall@10 against exact search over the same queries, for Keel's search settings and,
 *    with `--nprobes/--refine/--ef` lists, for every combination of them on the same index.
 * Vectors are a Gaussian mixture (clustered, like real sentence embeddings), unit length; text is
 * drawn from a Zipf vocabulary so BM25 has common and rare terms.
 *
 * `--keep-dir <path>` keeps the table: the first run writes it, later runs with the same
 * `--chunks/--dims` skip the writes, reuse the exact ground truth cached there (per query
 * count), and rebuild the vector index only when `--index` (JSON VectorIndexSettings, default:
 * Keel's `vectorIndexFor(rows, dims)`) differs from the one built last.
 * Run: npm run bench -- rag [--chunks 100000] [--dims 384] [--queries 200] [--docs 2000] [--ann-min-rows 10000]
 *   [--keep-dir DIR] [--index '{"type":"ivf_pq","numPartitions":244,"numSubVectors":48,"maxIterations":20}']
 *   [--nprobes 16,32,64] [--refine 0,10,30] [--ef 64,128] [--sweep-only]
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { loadavg as osLoadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { withContext } from "@keel/core";
import { SqliteMetadataStore } from "@keel/metadata";
import {
  type AccessScope,
  type ChunkRecord,
  DocumentRegistry,
  Ingestor,
  type KnowledgeBase,
  LanceDbVectorStore,
  type LlmClient,
  loadLanceDb,
  Retriever,
  scopeSql,
  type VectorIndexSettings,
  type VectorSearchSettings,
  vectorIndexFor,
} from "@keel/rag";

const { values } = parseArgs({
  options: {
    chunks: { type: "string", default: "100000" },
    dims: { type: "string", default: "384" },
    queries: { type: "string", default: "200" },
    docs: { type: "string", default: "2000" },
    /** Build the vector index from this many chunks (a huge value measures exact vector search only). */
    "ann-min-rows": { type: "string", default: "10000" },
    "keep-dir": { type: "string" },
    index: { type: "string" },
    nprobes: { type: "string" },
    refine: { type: "string" },
    ef: { type: "string" },
    /** Only the recall/latency sweep (no BM25, hybrid or scoped figures). */
    "sweep-only": { type: "boolean", default: false },
  },
});
const N = Number(values.chunks);
const DIMS = Number(values.dims);
const QUERIES = Number(values.queries);
const DOCS = Number(values.docs);

// Deterministic PRNG (mulberry32) and a normal sampler. `rand` is reseeded per phase, so the
// written table and the queries do not depend on which phases ran before.
const mulberry32 = (start: number) => {
  let seed = start;
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};
let rand = mulberry32(42);
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

const KEEP = values["keep-dir"];
if (KEEP) mkdirSync(KEEP, { recursive: true });
const dir = KEEP ?? mkdtempSync(join(tmpdir(), "keel-bench-rag-"));
const store = new LanceDbVectorStore(dir);

/** What the kept folder holds: the written table's shape and the vector index built last. */
interface KeptState {
  chunks: number;
  dims: number;
  vectorIndex?: VectorIndexSettings;
  indexSeconds?: number;
  indexBytes?: number;
}
const statePath = join(dir, "bench-rag.json");
const readState = (): KeptState | undefined =>
  KEEP && existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : undefined;
const writeState = (s: KeptState) => KEEP && writeFileSync(statePath, JSON.stringify(s, null, 1));

/** Exact top-10 ids per query (and the exact search's latency), cached in the kept folder. */
interface Truth {
  queries: { vector: number[]; text: string }[];
  exact: string[][];
  exactMs: number[];
}

const bytesUnder = (path: string): number =>
  statSync(path).isDirectory()
    ? readdirSync(path).reduce((n, f) => n + bytesUnder(join(path, f)), 0)
    : statSync(path).size;
/** Bytes of the index folders written since `since` (the vector index just built). */
const indexBytesSince = (table: string, since: number) => {
  const root = join(dir, `${table}.lance`, "_indices");
  if (!existsSync(root)) return 0;
  return readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => statSync(d).mtimeMs >= since)
    .reduce((n, d) => n + bytesUnder(d), 0);
};
const list = (v: string | undefined) => (v ? v.split(",").map(Number) : undefined);

async function ingestion() {
  rand = mulberry32(1);
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

async function writeTable(kb: KnowledgeBase) {
  rand = mulberry32(43);
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
  // Compaction, scalar indexes and BM25 (no vector index yet), timed.
  await store.updateIndexes(kb.name, { annMinRows: Number.MAX_SAFE_INTEGER });
  console.log(
    `  compaction + scalar + BM25 indexes: ${((performance.now() - loaded) / 1000).toFixed(1)} s (load ${loadavg()})`,
  );
}

/** Exact search over every row (no index) for each query: the recall reference, computed once. */
async function groundTruth(kb: KnowledgeBase): Promise<Truth> {
  const path = join(dir, `truth-${QUERIES}.json`);
  if (KEEP && existsSync(path)) return JSON.parse(readFileSync(path, "utf8"));
  rand = mulberry32(7);
  const queries = Array.from({ length: QUERIES }, () => ({
    vector: randomVector(),
    text: `${zipfWord()} ${zipfWord()} ${sentence(4)}`,
  }));
  const truth: Truth = { queries, exact: [], exactMs: [] };
  const started = performance.now();
  for (const q of queries) {
    const [hits, t] = await timed(() =>
      store.vectorSearch(kb.name, q.vector, { k: 10, scope: { all: true }, exact: true }),
    );
    truth.exact.push(hits.map((h) => h.chunk.id));
    truth.exactMs.push(t);
  }
  console.log(
    `  exact ground truth for ${QUERIES} queries: ${((performance.now() - started) / 1000).toFixed(1)} s (load ${loadavg()})`,
  );
  if (KEEP) writeFileSync(path, JSON.stringify(truth));
  return truth;
}

async function vectorIndex(kb: KnowledgeBase, kept: KeptState): Promise<KeptState> {
  const wanted: VectorIndexSettings = values.index ? JSON.parse(values.index) : vectorIndexFor(N, DIMS).index;
  if (kept.vectorIndex && isDeepStrictEqual(kept.vectorIndex, wanted)) {
    console.log(
      `  vector index ${JSON.stringify(wanted)}: kept (built in ${kept.indexSeconds?.toFixed(1)} s, ` +
        `${((kept.indexBytes ?? 0) / 2 ** 20).toFixed(1)} MiB)`,
    );
    return kept;
  }
  const since = Date.now() - 1000;
  const [, t] = await timed(() => store.buildVectorIndex(kb.name, wanted));
  const next = {
    ...kept,
    vectorIndex: wanted,
    indexSeconds: t / 1000,
    indexBytes: indexBytesSince("kb_retrieve", since),
  };
  console.log(
    `  vector index ${JSON.stringify(wanted)}: built in ${(t / 1000).toFixed(1)} s, ` +
      `${(next.indexBytes / 2 ** 20).toFixed(1)} MiB (load ${loadavg()})`,
  );
  writeState(next);
  return next;
}

async function retrieval() {
  const kb = knowledgeBase("retrieve");
  let kept = readState();
  if (!kept || kept.chunks !== N || kept.dims !== DIMS) {
    await store.dropCollection(kb.name);
    for (const f of KEEP ? readdirSync(dir).filter((f) => f.startsWith("truth-")) : []) rmSync(join(dir, f));
    await writeTable(kb);
    kept = { chunks: N, dims: DIMS };
    writeState(kept);
  } else {
    console.log(`\nretrieval: ${N} chunks (${DIMS}-d) kept in ${dir} (load ${loadavg()})`);
    await store.updateIndexes(kb.name, { annMinRows: Number.MAX_SAFE_INTEGER }); // scalar/BM25 if missing
  }
  const truth = await groundTruth(kb);
  const { queries } = truth;
  const ann = N >= Number(values["ann-min-rows"]);
  if (ann) kept = await vectorIndex(kb, kept);

  const row = (label: string, lat: number[], extra = "") =>
    console.log(
      `  ${label.padEnd(52)} p50 ${ms(pct(lat, 50)).padStart(9)}  p99 ${ms(pct(lat, 99)).padStart(9)}${extra}`,
    );
  const latencies = async (
    fn: (q: (typeof queries)[number], i: number) => Promise<unknown>,
    afterWarmup = () => {},
  ) => {
    for (const [i, q] of queries.slice(0, 10).entries()) await fn(q, i); // warm-up
    afterWarmup();
    const lat: number[] = [];
    for (const [i, q] of queries.entries()) lat.push((await timed(() => fn(q, i)))[1]);
    return lat;
  };
  const run = async (label: string, fn: (q: (typeof queries)[number]) => Promise<unknown>) =>
    row(label, await latencies(fn));
  /** recall@10 against the exact ids and the latency of the same searches. */
  const recallRun = async (label: string) => {
    let hit = 0;
    const lat = await latencies(
      async (q, i) => {
        const hits = await store.vectorSearch(kb.name, q.vector, { k: 10, scope: all });
        const exact = new Set(truth.exact[i]);
        hit += hits.filter((h) => exact.has(h.chunk.id)).length;
      },
      () => {
        hit = 0;
      },
    );
    const recall = hit / (queries.length * 10);
    row(label, lat, `  recall@10 ${recall.toFixed(3)}`);
  };
  const all: AccessScope = { all: true };
  const scoped: AccessScope = { teams: ["t1"], classifications: ["public"] };

  row("vector (exact, flat), k=10", truth.exactMs, "  (from the ground-truth run)");
  if (ann) {
    const s = vectorIndexFor(N, DIMS).search;
    await recallRun(`vector (ANN, Keel's ${JSON.stringify(s)}), k=10`);
  }
  if (!values["sweep-only"]) {
    await run("vector, k=10, security scope", (q) =>
      store.vectorSearch(kb.name, q.vector, { k: 10, scope: scoped }),
    );
    await run("full text (BM25), k=10", (q) => store.textSearch(kb.name, q.text, { k: 10, scope: all }));
    await run("full text (BM25), k=10, security scope", (q) =>
      store.textSearch(kb.name, q.text, { k: 10, scope: scoped }),
    );
    const vectorOf = new Map(queries.map((q) => [q.text, q.vector]));
    const retriever = new Retriever(
      store,
      stubLlm((t) => vectorOf.get(t) as number[]),
    );
    const asBench = <T>(fn: () => Promise<T>) =>
      withContext({ principal: "bench", requestId: "b", roles: ["viewer"] }, fn);
    await run("hybrid (RRF of 40 + 40, caller's scope), k=10", (q) =>
      asBench(() => retriever.retrieve(kb, { query: q.text, k: 10 })),
    );
    await explainScoped(queries[0].vector, scoped);
  }

  const nprobes = list(values.nprobes);
  const refine = list(values.refine);
  const efs = list(values.ef);
  if (!ann || (!nprobes && !refine && !efs)) return;
  console.log(`  sweep on ${JSON.stringify(kept.vectorIndex)} (load ${loadavg()}):`);
  const base = vectorIndexFor(N, DIMS).search;
  for (const np of nprobes ?? [base.nprobes])
    for (const rf of refine ?? [base.refineFactor ?? 0])
      for (const ef of efs ?? [0]) {
        const s: VectorSearchSettings = {
          nprobes: np,
          ...(rf ? { refineFactor: rf } : {}),
          ...(ef ? { ef } : {}),
        };
        store.setSearchSettings(kb.name, s);
        await recallRun(`nprobes ${np}, refine ${rf || "-"}${ef ? `, ef ${ef}` : ""}`);
      }
  store.setSearchSettings(kb.name, undefined);
  console.log(`  (load ${loadavg()})`);
}

/** The scoped vector query's physical plan: the prefilter should read the scalar indexes. */
async function explainScoped(vector: number[], scope: AccessScope) {
  const conn = await (await loadLanceDb()).connect(dir);
  const table = await conn.openTable("kb_retrieve");
  const plan = await table
    .vectorSearch(vector)
    .where(scopeSql(scope) as string)
    .limit(10)
    .explainPlan(false);
  console.log(`  scoped vector query plan:\n${plan.replace(/^/gm, "    ")}`);
  table.close();
  conn.close();
}

console.log(`LANCE_CPU_THREADS=${process.env.LANCE_CPU_THREADS ?? "(Keel's default)"}, load ${loadavg()}`);
try {
  if (DOCS > 0) await ingestion();
  await retrieval();
} finally {
  await store.close();
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
}
