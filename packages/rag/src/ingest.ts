import { type ChunkingSettings, chunkDocument, contentTypeOf } from "./chunker";
import { type DocumentRecord, type DocumentRegistry, type IngestDocument, sha256 } from "./documents";
import type { KnowledgeBase } from "./knowledge-base";
import type { LlmClient } from "./llm-client";
import type { ChunkRecord, IndexState, VectorStore } from "./vector-store";

export interface IngestProgress {
  phase: "documents" | "indexing" | "done";
  /** Documents looked at so far, of `total`. */
  done: number;
  total: number;
  chunks: number;
}

export interface IngestOptions {
  /** Documents under this URI prefix that are not in this call leave the index (a folder sync). */
  prunePrefix?: string;
  /** URIs still present in the source besides this call's documents (a sync sent in several calls). */
  present?: string[];
  onProgress?(p: IngestProgress): void;
  /** Skip the index update (the caller will run it once after several calls). */
  skipIndexing?: boolean;
}

export interface IngestResult {
  added: string[];
  updated: string[];
  unchanged: number;
  deleted: string[];
  chunks: number;
  tokens: number;
  index?: IndexState;
  /** Seconds spent chunking and writing, and waiting for embeddings. */
  timings: { chunkSeconds: number; embedSeconds: number; writeSeconds: number };
}

/** Documents chunked, embedded and written per batch (bounds memory on large folders). */
const DOC_BATCH = 32;

/** What decides a document's chunks: if none of it changed, the document is skipped. */
function fingerprint(kb: KnowledgeBase, d: IngestDocument, type: string): string {
  return sha256(
    JSON.stringify([
      d.content,
      type,
      d.title ?? "",
      d.team ?? kb.ownerTeam,
      d.classification ?? kb.defaultClassification,
      [...(d.tags ?? [])].sort(),
      kb.chunking satisfies ChunkingSettings,
      kb.embedding?.model ?? null,
    ]),
  );
}

/**
 * Incremental ingestion: a document whose fingerprint (content, metadata, chunking, embedding
 * model) is unchanged is skipped; a changed one has all its chunks replaced in one write; with
 * `prunePrefix`, documents no longer present leave the index. Then the full-text index is
 * refreshed and the ANN index built once the collection is large enough.
 */
export class Ingestor {
  constructor(
    private readonly deps: {
      vectors: VectorStore;
      docs: DocumentRegistry;
      llm: LlmClient;
      now(): number;
    },
  ) {}

  async ingest(kb: KnowledgeBase, inputs: IngestDocument[], opts: IngestOptions = {}): Promise<IngestResult> {
    const known = new Map((await this.deps.docs.list(kb.name)).map((d) => [d.uri, d]));
    const result: IngestResult = {
      added: [],
      updated: [],
      unchanged: 0,
      deleted: [],
      chunks: 0,
      tokens: 0,
      timings: { chunkSeconds: 0, embedSeconds: 0, writeSeconds: 0 },
    };
    const seen = new Set<string>(opts.present ?? []);
    const progress = (phase: IngestProgress["phase"], done: number) =>
      opts.onProgress?.({ phase, done, total: inputs.length, chunks: result.chunks });
    for (let i = 0; i < inputs.length; i += DOC_BATCH) {
      await this.batch(kb, inputs.slice(i, i + DOC_BATCH), known, seen, result);
      progress("documents", Math.min(inputs.length, i + DOC_BATCH));
    }
    if (opts.prunePrefix !== undefined) {
      const prefix = opts.prunePrefix;
      const gone = [...known.keys()].filter((u) => u.startsWith(prefix) && !seen.has(u));
      if (gone.length) {
        await this.deps.vectors.deleteDocuments(kb.name, gone);
        await this.deps.docs.delete(kb.name, gone);
        result.deleted = gone;
      }
    }
    if (!opts.skipIndexing) {
      progress("indexing", inputs.length);
      result.index = await this.deps.vectors.updateIndexes(kb.name, { annMinRows: kb.annMinRows });
    }
    progress("done", inputs.length);
    return result;
  }

  private async batch(
    kb: KnowledgeBase,
    inputs: IngestDocument[],
    known: Map<string, DocumentRecord>,
    seen: Set<string>,
    result: IngestResult,
  ): Promise<void> {
    let t = performance.now();
    const changed: Array<{ record: DocumentRecord; chunks: ChunkRecord[] }> = [];
    for (const d of inputs) {
      seen.add(d.uri);
      const type = d.contentType ?? contentTypeOf(d.uri);
      const hash = fingerprint(kb, d, type);
      if (known.get(d.uri)?.hash === hash) {
        result.unchanged++;
        continue;
      }
      const { title: found, chunks } = chunkDocument(d.content, type, kb.chunking);
      const record: DocumentRecord = {
        uri: d.uri,
        hash,
        title: d.title ?? found ?? d.uri.split("/").pop() ?? d.uri,
        team: d.team ?? kb.ownerTeam,
        classification: d.classification ?? kb.defaultClassification,
        tags: d.tags ?? [],
        chunks: chunks.length,
        tokens: chunks.reduce((n, c) => n + c.tokens, 0),
        bytes: Buffer.byteLength(d.content),
        updatedAt: this.deps.now(),
      };
      changed.push({
        record,
        chunks: chunks.map((c) => ({
          id: `${d.uri}#${c.ordinal}`,
          doc: d.uri,
          ordinal: c.ordinal,
          text: c.text,
          title: record.title,
          heading: c.heading,
          team: record.team,
          classification: record.classification,
          tags: record.tags,
          tokens: c.tokens,
        })),
      });
      (known.has(d.uri) ? result.updated : result.added).push(d.uri);
    }
    result.timings.chunkSeconds += (performance.now() - t) / 1000;
    if (changed.length === 0) return;
    const all = changed.flatMap((c) => c.chunks);
    if (kb.embedding && all.length) {
      t = performance.now();
      const vectors = await this.deps.llm.embed(
        kb.embedding.model,
        all.map((c) => c.text),
      );
      all.forEach((c, i) => {
        c.vector = vectors[i];
      });
      result.timings.embedSeconds += (performance.now() - t) / 1000;
    }
    t = performance.now();
    await this.deps.vectors.replaceDocuments(
      kb.name,
      changed.map((c) => c.record.uri),
      all,
    );
    await this.deps.docs.put(
      kb.name,
      changed.map((c) => c.record),
    );
    result.timings.writeSeconds += (performance.now() - t) / 1000;
    result.chunks += all.length;
    result.tokens += all.reduce((n, c) => n + c.tokens, 0);
  }
}
