/**
 * VectorStore: where a knowledge base's chunks live, searched by vector and by full text (BM25).
 * One collection per knowledge base. LanceDB (a folder locally, `s3://` in AWS) is the first
 * adapter; OpenSearch Serverless or pgvector fit behind the same port and must pass
 * tests/conformance/vector-store.suite.ts.
 *
 * Document-level security is part of every search: `scope` says which documents the caller may
 * read, and the adapter applies it inside the query (a prefilter), never after the top-k.
 */
export interface ChunkRecord {
  /** `<document uri>#<ordinal>`, unique in the collection. */
  id: string;
  /** The document's URI (its id in the knowledge base). */
  doc: string;
  ordinal: number;
  text: string;
  title: string;
  /** Heading path of the section the chunk comes from ("Guide > Install"). */
  heading: string;
  team: string;
  classification: string;
  tags: string[];
  tokens: number;
  /** Absent in a full-text-only knowledge base. */
  vector?: number[];
}

/** Who may read what: documents of these teams, or of these classifications. `all` = no limit. */
export type AccessScope = { all: true } | { teams: string[]; classifications: string[] };

/** Metadata filters a caller may add (ANDed); each field matches any of its values. */
export interface ChunkFilter {
  doc?: string[];
  team?: string[];
  classification?: string[];
  /** Chunks whose document carries every one of these tags. */
  tags?: string[];
  /** Documents whose URI starts with this prefix. */
  docPrefix?: string;
}

export interface SearchOptions {
  k: number;
  scope: AccessScope;
  filter?: ChunkFilter;
  /** Skip the ANN index and compute exact distances (evaluation, recall measurement). */
  exact?: boolean;
}

export interface SearchHit {
  chunk: Omit<ChunkRecord, "vector">;
  /** Higher is better: cosine similarity for vectors, BM25 for full text. */
  score: number;
}

export interface IndexSettings {
  /** Build an ANN (IVF-PQ) index once the collection holds at least this many chunks. */
  annMinRows: number;
}

export interface IndexState {
  rows: number;
  vectorIndex: boolean;
  textIndex: boolean;
}

export interface VectorStore {
  /** Replaces every chunk of the given documents with `chunks` (one write per call). */
  replaceDocuments(collection: string, docs: string[], chunks: ChunkRecord[]): Promise<void>;
  deleteDocuments(collection: string, docs: string[]): Promise<void>;
  vectorSearch(collection: string, vector: number[], opts: SearchOptions): Promise<SearchHit[]>;
  textSearch(collection: string, query: string, opts: SearchOptions): Promise<SearchHit[]>;
  count(collection: string, scope?: AccessScope): Promise<number>;
  /** Builds or refreshes the full-text index, and the ANN index once large enough. */
  updateIndexes(collection: string, settings: IndexSettings): Promise<IndexState>;
  dropCollection(collection: string): Promise<void>;
  close(): Promise<void>;
}
