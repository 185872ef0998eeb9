export * from "./lancedb-store";
export * from "./llm-client";
export * from "./vector-store";
