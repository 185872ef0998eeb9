export { readScope, requireManager, teamsOf } from "./access";
export {
  type AnswerEvent,
  Answerer,
  type AnswerRequest,
  type AnswerResult,
  buildMessages,
  DEFAULT_PROMPT,
  I_DONT_KNOW,
} from "./answerer";
export {
  BEDROCK_DEFAULT_RERANK_MODEL,
  type BedrockRerankClient,
  BedrockReranker,
  type BedrockRerankOptions,
  createBedrockReranker,
} from "./bedrock-rerank";
export { callerAuthorization, keepCallerAuthorization, withCallerAuthorization } from "./caller-auth";
export {
  type ChunkingSettings,
  type ContentType,
  chunkDocument,
  contentTypeOf,
  countTokens,
  sectionsOf,
  type TextChunk,
} from "./chunker";
export { citeSentences, type SentenceCitation, type SourceRef, sentences, sourceRefs } from "./citations";
export { type DocumentRecord, DocumentRegistry, type IngestDocument, sha256 } from "./documents";
export * from "./eval-metrics";
export {
  type EvaluateRequest,
  type EvaluationResult,
  Evaluator,
  type GoldenQuestion,
  goldenQuestionSchema,
  type RagTracking,
} from "./evaluator";
export {
  fileDocument,
  INGESTIBLE,
  listFolder,
  readFolder,
  readFolderDocument,
  readSources,
  type SourceFailure,
  sourceDocument,
  splitFrontMatter,
} from "./folder-source";
export { htmlToText } from "./html-text";
export { type IngestOptions, Ingestor, type IngestProgress, type IngestResult } from "./ingest";
export { ragIngestStep } from "./ingest-step";
export { type KnowledgeBase, type KnowledgeBaseInput, KnowledgeBaseStore } from "./knowledge-base";
export * from "./lancedb-store";
export * from "./llm-client";
export { createRagModule, type RagModule, type RagModuleDeps } from "./module";
export {
  createRagChatHandler,
  type OpenAiChatRequest,
  RAG_MODEL_PREFIX,
  ragChatModel,
  sourcesFooter,
} from "./openai-chat";
export { extractPdfText, type PdfText, pdfDocument, pdfToDocument } from "./pdf-text";
export { type RerankProvider, withReranker } from "./rerank-provider";
export {
  NO_EMBEDDING_NOTICE,
  type RetrievedChunk,
  type RetrieveRequest,
  type RetrieveResult,
  Retriever,
  reciprocalRankFusion,
} from "./retriever";
export { ragRoutes } from "./routes";
export { type KnowledgeBaseView, type RagAudit, type RagDeps, RagService } from "./service";
export * from "./vector-index";
export * from "./vector-store";
