import { type Clock, currentPrincipal, parseWith } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { readScope, requireManager } from "./access";
import { type AnswerEvent, Answerer, type AnswerRequest, type AnswerResult } from "./answerer";
import {
  type DocumentRecord,
  DocumentRegistry,
  type IngestDocument,
  ingestDocumentSchema,
} from "./documents";
import {
  type EvaluateRequest,
  type EvaluationResult,
  Evaluator,
  evaluateRequestSchema,
  type RagTracking,
} from "./evaluator";
import { type IngestOptions, Ingestor, type IngestResult } from "./ingest";
import {
  type KnowledgeBase,
  type KnowledgeBaseInput,
  type KnowledgeBasePatch,
  KnowledgeBaseStore,
} from "./knowledge-base";
import type { LlmClient } from "./llm-client";
import { type RetrieveRequest, type RetrieveResult, Retriever } from "./retriever";
import type { VectorStore } from "./vector-store";

/** The audit trail, as RAG writes to it (a subset of @keel/audit's AuditLog). */
export interface RagAudit {
  append(input: { action: string; resource: string; state?: unknown }): Promise<unknown>;
}

export interface RagDeps {
  store: MetadataStore;
  vectors: VectorStore;
  llm: LlmClient;
  clock: Clock;
  tracking?: RagTracking;
  audit?: RagAudit;
}

export interface KnowledgeBaseView extends KnowledgeBase {
  /** "hybrid" with an embedding route, else "full_text". */
  retrievalMode: "hybrid" | "full_text";
  notice?: string;
}

/** Knowledge bases, ingestion, retrieval, answers and evaluation: what routes, the CLI and the gateway call. */
export class RagService {
  readonly kbs: KnowledgeBaseStore;
  readonly docs: DocumentRegistry;
  readonly retriever: Retriever;
  readonly answerer: Answerer;
  readonly ingestor: Ingestor;
  private readonly evaluator: Evaluator;

  constructor(private readonly deps: RagDeps) {
    this.kbs = new KnowledgeBaseStore(deps.store);
    this.docs = new DocumentRegistry(deps.store);
    this.retriever = new Retriever(deps.vectors, deps.llm);
    this.answerer = new Answerer(this.retriever, deps.llm);
    this.ingestor = new Ingestor({
      vectors: deps.vectors,
      docs: this.docs,
      llm: deps.llm,
      now: deps.clock.now,
    });
    this.evaluator = new Evaluator(this.retriever, this.answerer, deps.tracking, deps.clock.now);
  }

  view(kb: KnowledgeBase): KnowledgeBaseView {
    return kb.embedding
      ? { ...kb, retrievalMode: "hybrid" }
      : {
          ...kb,
          retrievalMode: "full_text",
          notice: "no embedding route: this knowledge base answers from full-text (BM25) retrieval only",
        };
  }

  async create(input: KnowledgeBaseInput): Promise<KnowledgeBaseView> {
    const kb = await this.kbs.create(input, currentPrincipal(), this.deps.clock.now());
    await this.deps.audit?.append({ action: "rag.kb.create", resource: `rag-kb:${kb.name}`, state: kb });
    return this.view(kb);
  }

  async get(name: string): Promise<KnowledgeBaseView> {
    return this.view(await this.kbs.get(name));
  }

  async list(): Promise<KnowledgeBaseView[]> {
    return (await this.kbs.list()).map((kb) => this.view(kb));
  }

  /** Changing the embedding model or chunking clears the index: the next ingest rebuilds every document. */
  async update(name: string, patch: KnowledgeBasePatch): Promise<KnowledgeBaseView> {
    const current = await this.kbs.get(name);
    requireManager(current, "change");
    const kb = await this.kbs.update(name, patch, this.deps.clock.now());
    const reshaped =
      JSON.stringify(kb.embedding ?? null) !== JSON.stringify(current.embedding ?? null) ||
      JSON.stringify(kb.chunking) !== JSON.stringify(current.chunking);
    if (reshaped) await this.clearIndex(name);
    await this.deps.audit?.append({ action: "rag.kb.update", resource: `rag-kb:${name}`, state: kb });
    return this.view(kb);
  }

  async delete(name: string): Promise<void> {
    const kb = await this.kbs.get(name);
    requireManager(kb, "delete");
    await this.clearIndex(name);
    await this.kbs.delete(name);
    await this.deps.audit?.append({ action: "rag.kb.delete", resource: `rag-kb:${name}` });
  }

  private async clearIndex(name: string): Promise<void> {
    await this.deps.vectors.dropCollection(name);
    await this.docs.delete(
      name,
      (await this.docs.list(name)).map((d) => d.uri),
    );
  }

  async ingest(name: string, documents: IngestDocument[], opts: IngestOptions = {}): Promise<IngestResult> {
    const kb = await this.kbs.get(name);
    requireManager(kb, "ingest into");
    const docs = documents.map((d) => parseWith(ingestDocumentSchema, d, `document ${d.uri}`));
    return this.ingestor.ingest(kb, docs, opts);
  }

  async deleteDocuments(name: string, uris: string[]): Promise<{ deleted: string[] }> {
    const kb = await this.kbs.get(name);
    requireManager(kb, "delete documents of");
    const known = new Set((await this.docs.list(name)).map((d) => d.uri));
    const deleted = uris.filter((u) => known.has(u));
    await this.deps.vectors.deleteDocuments(name, deleted);
    await this.docs.delete(name, deleted);
    await this.deps.vectors.updateIndexes(name, { annMinRows: kb.annMinRows });
    return { deleted };
  }

  /** The documents the caller may read. */
  async listDocuments(name: string, prefix?: string): Promise<DocumentRecord[]> {
    const kb = await this.kbs.get(name);
    const scope = readScope(kb);
    return (await this.docs.list(name, prefix)).filter(
      (d) => scope.teams.includes(d.team) || scope.classifications.includes(d.classification),
    );
  }

  async retrieve(name: string, req: RetrieveRequest): Promise<RetrieveResult> {
    return this.retriever.retrieve(await this.kbs.get(name), req);
  }

  async answer(name: string, req: AnswerRequest): Promise<AnswerResult> {
    return this.answerer.answer(await this.kbs.get(name), req);
  }

  async answerEvents(name: string, req: AnswerRequest): Promise<AsyncGenerator<AnswerEvent>> {
    const kb = await this.kbs.get(name);
    const events = this.answerer.answerEvents(kb, req);
    // Errors before the first event (no generation model, bad request) surface as a status, not a broken stream.
    const first = await events.next();
    return (async function* () {
      if (!first.done) yield first.value;
      yield* events;
    })();
  }

  async evaluate(name: string, req: EvaluateRequest): Promise<EvaluationResult> {
    const parsed = parseWith(evaluateRequestSchema, req, "evaluation request");
    return this.evaluator.evaluate(await this.kbs.get(name), parsed);
  }
}
