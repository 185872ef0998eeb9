import { z } from "zod";
import { defineRoute } from "./route";

/** Keel's RAG API: knowledge bases, ingestion, hybrid retrieval, answers with citations, evaluation. */
const tags = ["RAG"] as const;

export const RAG_KB_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const RAG_LABEL = /^[A-Za-z0-9][\w.:-]{0,63}$/;
const label = z
  .string()
  .regex(RAG_LABEL, "letters, digits, _ . : - (max 64), starting with a letter or digit");
const model = z.string().min(1).max(200);

export const ragChunkingSchema = z
  .object({
    /** Tokens per chunk (BPE, counted with gpt-tokenizer), heading line included. */
    maxTokens: z.number().int().min(16).max(8192).default(256),
    /** Tokens repeated from the end of one chunk at the start of the next, within a section. */
    overlapTokens: z.number().int().min(0).max(2048).default(32),
  })
  .strict()
  .refine((c) => c.overlapTokens < c.maxTokens / 2, {
    message: "overlapTokens must be under half of maxTokens",
  });

export const ragRetrievalDefaultsSchema = z
  .object({
    k: z.number().int().min(1).max(100).default(5),
    /** Reciprocal rank fusion: weight of each ranking and the constant k (60 in the RRF paper). */
    vectorWeight: z.number().min(0).max(10).default(1),
    textWeight: z.number().min(0).max(10).default(1),
    rrfK: z.number().int().min(1).max(1000).default(60),
    /** Rerank the fused candidates through the rerank provider by default. */
    rerank: z.boolean().default(false),
    /**
     * "I don't know" thresholds: a chunk is relevant when its rerank score (when reranked), else
     * its cosine similarity (vector), else its BM25 score (full text only) reaches these.
     */
    minSimilarity: z.number().min(-1).max(1).default(0.35),
    minRerankScore: z.number().default(0.2),
    minTextScore: z.number().min(0).default(0),
  })
  .strict();

const kbFields = {
  description: z.string().max(2000).default(""),
  /** The gateway route (model name) of the embeddings; without one, retrieval is full text only. */
  embedding: z.object({ model }).strict().optional(),
  /** The gateway route (model name) answers are generated with. */
  generation: z
    .object({
      model,
      temperature: z.number().min(0).max(2).optional(),
      maxTokens: z.number().int().min(1).max(32_768).optional(),
    })
    .strict()
    .optional(),
  /** The cross-encoder behind the rerank provider (`POST /rerank`), when the provider needs a name. */
  rerank: z.object({ model: model.optional() }).strict().optional(),
  chunking: ragChunkingSchema.default({ maxTokens: 256, overlapTokens: 32 }),
  /** The team that owns the knowledge base: its members ingest and manage it. */
  ownerTeam: label,
  /** Team membership (team -> principals). The creator joins the owner team. */
  teams: z.record(label, z.array(z.string().min(1).max(512)).max(10_000)).default({}),
  /**
   * Who may read documents outside their own team, by classification: roles, or "*" for every
   * caller. A document is readable by its team's members and by these; nobody else.
   */
  access: z
    .object({
      classifications: z.record(label, z.array(z.string().min(1).max(64))).default({ public: ["*"] }),
    })
    .strict()
    .default({ classifications: { public: ["*"] } }),
  /** Classification of documents ingested without one. */
  defaultClassification: label.default("internal"),
  retrieval: ragRetrievalDefaultsSchema.default(ragRetrievalDefaultsSchema.parse({})),
  /** System prompt of answers; `{context}` and `{question}` are replaced (default: cite sources as [n]). */
  prompt: z.string().max(20_000).optional(),
  /** Chunks before an ANN (IVF-PQ) index is built; below it search is exact. */
  annMinRows: z.number().int().min(256).max(100_000_000).default(10_000),
};

export const ragKnowledgeBaseInputSchema = z
  .object({
    name: z
      .string()
      .regex(RAG_KB_NAME, "lower-case letters, digits, _ and - (max 63), starting with a letter or digit")
      .refine((n) => n !== "knowledge-bases", "this name is reserved"),
    ...kbFields,
  })
  .strict();

/** What PATCH may change; a new embedding model or chunking clears the index (re-ingest). */
export const ragKnowledgeBasePatchSchema = z
  .object({
    description: z.string().max(2000).optional(),
    embedding: z.object({ model }).strict().nullable().optional(),
    generation: kbFields.generation,
    rerank: kbFields.rerank,
    chunking: ragChunkingSchema.optional(),
    teams: z.record(label, z.array(z.string().min(1).max(512)).max(10_000)).optional(),
    access: z
      .object({ classifications: z.record(label, z.array(z.string().min(1).max(64))) })
      .strict()
      .optional(),
    defaultClassification: label.optional(),
    retrieval: ragRetrievalDefaultsSchema.partial().optional(),
    prompt: z.string().max(20_000).optional(),
    annMinRows: z.number().int().min(256).max(100_000_000).optional(),
  })
  .strict();

export const ragKnowledgeBaseSchema = ragKnowledgeBaseInputSchema.extend({
  createdAt: z.number(),
  createdBy: z.string(),
  updatedAt: z.number(),
  /** "hybrid" with an embedding route, else "full_text". */
  retrievalMode: z.enum(["hybrid", "full_text"]),
  notice: z.string().optional(),
});

/** A document as uploaded: its URI is its id in the knowledge base and what citations point to. */
export const ragIngestDocumentSchema = z
  .object({
    uri: z
      .string()
      .min(1)
      .max(512)
      .refine((u) => !/[\u0000-\u001f]/.test(u), "no control characters"),
    content: z.string().max(20_000_000),
    contentType: z.enum(["markdown", "html", "text"]).optional(),
    title: z.string().max(500).optional(),
    team: label.optional(),
    classification: label.optional(),
    tags: z.array(label).max(50).optional(),
  })
  .strict();

const weights = z
  .object({ vector: z.number().min(0).max(10).optional(), text: z.number().min(0).max(10).optional() })
  .strict();

const retrievalOptions = {
  k: z.number().int().min(1).max(100).optional(),
  /** `hybrid` (default with an embedding route), `vector` or `text`. */
  mode: z.enum(["hybrid", "vector", "text"]).optional(),
  weights: weights.optional(),
  /** Metadata filters (ANDed; each field matches any of its values). */
  filter: z
    .object({
      doc: z.array(z.string().min(1).max(512)).max(100).optional(),
      team: z.array(label).max(100).optional(),
      classification: z.array(label).max(100).optional(),
      tags: z.array(label).max(20).optional(),
      docPrefix: z.string().max(512).optional(),
    })
    .strict()
    .optional(),
  /** Rerank the fused candidates through the rerank provider (default: the knowledge base's setting). */
  rerank: z.boolean().optional(),
  /** Candidates taken from each ranking before fusion and reranking (default 4k, at least 20). */
  candidates: z.number().int().min(1).max(1000).optional(),
};

export const ragRetrieveRequestSchema = z
  .object({ query: z.string().min(1).max(8000), ...retrievalOptions })
  .strict();

export const ragAnswerRequestSchema = z
  .object({
    question: z.string().min(1).max(8000),
    ...retrievalOptions,
    /** Server-sent events: `sources`, then `delta`s, then `done` with the citations. */
    stream: z.boolean().optional(),
  })
  .strict();

export const ragGoldenQuestionSchema = z
  .object({
    question: z.string().min(1).max(8000),
    /** URIs of the documents that answer it. */
    relevant: z.array(z.string().min(1).max(512)).min(1).max(100),
    reference: z.string().max(20_000).optional(),
  })
  .strict();

export const ragEvaluateRequestSchema = z
  .object({
    questions: z.array(ragGoldenQuestionSchema).min(1).max(2000),
    k: z.number().int().min(1).max(100).default(5),
    mode: retrievalOptions.mode,
    weights: weights.optional(),
    rerank: z.boolean().optional(),
    /** Generate answers too (citation precision, token F1): needs a generation model. */
    answers: z.boolean().default(false),
    /** The tracking experiment the run is logged to (default `rag-eval`). */
    experiment: z.string().min(1).max(256).default("rag-eval"),
    runName: z.string().min(1).max(256).optional(),
  })
  .strict();

const chunkSchema = z.object({
  id: z.string(),
  doc: z.string(),
  source: z.string(),
  title: z.string(),
  heading: z.string(),
  text: z.string(),
  team: z.string(),
  classification: z.string(),
  tags: z.array(z.string()),
  score: z.number(),
  scores: z.object({
    vector: z.number().optional(),
    text: z.number().optional(),
    fused: z.number().optional(),
    rerank: z.number().optional(),
  }),
  relevant: z.boolean(),
});

export const ragRetrieveResponseSchema = z.object({
  mode: z.enum(["hybrid", "vector", "text"]),
  reranked: z.boolean(),
  notice: z.string().optional(),
  chunks: z.array(chunkSchema),
});

const sourceRefSchema = z.object({
  n: z.number().int(),
  chunkId: z.string(),
  doc: z.string(),
  source: z.string(),
  title: z.string(),
  heading: z.string(),
});

export const ragAnswerResponseSchema = z.object({
  answer: z.string(),
  answered: z.boolean(),
  reason: z.enum(["no_relevant_chunks", "model_declined"]).optional(),
  mode: z.enum(["hybrid", "vector", "text"]),
  notice: z.string().optional(),
  model: z.string().optional(),
  citations: z.array(
    z.object({ sentence: z.string(), start: z.number(), end: z.number(), sources: z.array(sourceRefSchema) }),
  ),
  sources: z.array(sourceRefSchema),
  chunks: z.array(chunkSchema),
  usage: z
    .object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() })
    .optional(),
});

const documentSchema = z.object({
  uri: z.string(),
  hash: z.string(),
  title: z.string(),
  team: z.string(),
  classification: z.string(),
  tags: z.array(z.string()),
  chunks: z.number().int(),
  tokens: z.number().int(),
  bytes: z.number().int(),
  updatedAt: z.number(),
});

const kbParams = z.object({ kb: z.string() });
const kbErrors = ["RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "PERMISSION_DENIED"] as const;

export const ragRoutes = {
  createKnowledgeBase: defineRoute({
    id: "rag.createKnowledgeBase",
    method: "POST",
    path: "/api/v1/rag/knowledge-bases",
    summary: "Create a knowledge base (embedding route, chunking, owner team, access rules)",
    tags,
    body: ragKnowledgeBaseInputSchema,
    response: ragKnowledgeBaseSchema,
    status: 201,
    errors: ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_ALREADY_EXISTS"],
  }),
  listKnowledgeBases: defineRoute({
    id: "rag.listKnowledgeBases",
    method: "GET",
    path: "/api/v1/rag/knowledge-bases",
    summary: "Knowledge bases",
    tags,
    response: z.object({ knowledgeBases: z.array(ragKnowledgeBaseSchema) }),
    errors: [],
  }),
  getKnowledgeBase: defineRoute({
    id: "rag.getKnowledgeBase",
    method: "GET",
    path: "/api/v1/rag/knowledge-bases/:kb",
    summary: "A knowledge base",
    tags,
    params: kbParams,
    response: ragKnowledgeBaseSchema,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  updateKnowledgeBase: defineRoute({
    id: "rag.updateKnowledgeBase",
    method: "PATCH",
    path: "/api/v1/rag/knowledge-bases/:kb",
    summary: "Change a knowledge base (a new embedding model or chunking clears the index: re-ingest)",
    tags,
    params: kbParams,
    body: ragKnowledgeBasePatchSchema,
    response: ragKnowledgeBaseSchema,
    errors: [...kbErrors, "MALFORMED_REQUEST", "ABORTED"],
  }),
  deleteKnowledgeBase: defineRoute({
    id: "rag.deleteKnowledgeBase",
    method: "DELETE",
    path: "/api/v1/rag/knowledge-bases/:kb",
    summary: "Delete a knowledge base and its index",
    tags,
    params: kbParams,
    errors: ["RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"],
  }),
  listDocuments: defineRoute({
    id: "rag.listDocuments",
    method: "GET",
    path: "/api/v1/rag/:kb/documents",
    summary: "The documents of a knowledge base the caller may read",
    tags,
    params: kbParams,
    query: z.object({ prefix: z.string().max(512).optional() }),
    response: z.object({ documents: z.array(documentSchema) }),
    errors: ["RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"],
  }),
  ingestDocuments: defineRoute({
    id: "rag.ingestDocuments",
    method: "POST",
    path: "/api/v1/rag/:kb/documents",
    summary: "Upload documents: changed ones are re-chunked and re-embedded, unchanged ones skipped",
    tags,
    params: kbParams,
    body: z
      .object({
        documents: z.array(ragIngestDocumentSchema).max(1000),
        /** Documents under this URI prefix that are not in this call leave the index. */
        prunePrefix: z.string().max(512).optional(),
        /** With prunePrefix: URIs still in the source that earlier calls of the same sync sent. */
        present: z.array(z.string().min(1).max(512)).max(200_000).optional(),
        /** Skip the index refresh (send it with the last batch). */
        skipIndexing: z.boolean().optional(),
      })
      .strict(),
    response: z.object({
      added: z.array(z.string()),
      updated: z.array(z.string()),
      unchanged: z.number().int(),
      deleted: z.array(z.string()),
      chunks: z.number().int(),
      tokens: z.number().int(),
      index: z.object({ rows: z.number(), vectorIndex: z.boolean(), textIndex: z.boolean() }).optional(),
      timings: z.object({ chunkSeconds: z.number(), embedSeconds: z.number(), writeSeconds: z.number() }),
    }),
    errors: [...kbErrors, "MALFORMED_REQUEST", "TEMPORARILY_UNAVAILABLE"],
  }),
  deleteDocuments: defineRoute({
    id: "rag.deleteDocuments",
    method: "POST",
    path: "/api/v1/rag/:kb/documents/delete",
    summary: "Remove documents from a knowledge base (and its index)",
    tags,
    params: kbParams,
    body: z.object({ uris: z.array(z.string().min(1).max(512)).min(1).max(10_000) }).strict(),
    response: z.object({ deleted: z.array(z.string()) }),
    errors: [...kbErrors, "MALFORMED_REQUEST"],
  }),
  retrieve: defineRoute({
    id: "rag.retrieve",
    method: "POST",
    path: "/api/v1/rag/:kb/retrieve",
    summary: "Hybrid retrieval (vector + BM25, reciprocal rank fusion), filters, optional rerank",
    tags,
    params: kbParams,
    body: ragRetrieveRequestSchema,
    response: ragRetrieveResponseSchema,
    errors: [...kbErrors, "MALFORMED_REQUEST", "TEMPORARILY_UNAVAILABLE"],
  }),
  answer: defineRoute({
    id: "rag.answer",
    method: "POST",
    path: "/api/v1/rag/:kb/answer",
    summary: "Answer a question with citations (`stream: true` for server-sent events)",
    tags,
    params: kbParams,
    body: ragAnswerRequestSchema,
    response: ragAnswerResponseSchema,
    responseType: "application/json, text/event-stream",
    errors: [...kbErrors, "MALFORMED_REQUEST", "INVALID_STATE", "TEMPORARILY_UNAVAILABLE"],
  }),
  evaluate: defineRoute({
    id: "rag.evaluate",
    method: "POST",
    path: "/api/v1/rag/:kb/evaluate",
    summary: "Evaluate retrieval (and answers) on a golden set; logged as a tracking run",
    tags,
    params: kbParams,
    body: ragEvaluateRequestSchema,
    response: z.object({
      runId: z.string().optional(),
      experimentId: z.string().optional(),
      params: z.record(z.string(), z.string()),
      metrics: z.record(z.string(), z.number()),
      questions: z.array(
        z.object({
          question: z.string(),
          retrieved: z.array(z.string()),
          recall: z.number(),
          reciprocalRank: z.number(),
          ndcg: z.number(),
          answer: z.string().optional(),
          answered: z.boolean().optional(),
          citationPrecision: z.number().optional(),
          tokenF1: z.number().optional(),
        }),
      ),
    }),
    errors: [...kbErrors, "MALFORMED_REQUEST", "INVALID_STATE", "TEMPORARILY_UNAVAILABLE"],
  }),
};
