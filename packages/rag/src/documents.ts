import { createHash } from "node:crypto";
import { ragIngestDocumentSchema } from "@keel/contract";
import type { MetadataStore } from "@keel/metadata";
import type { z } from "zod";

export const ingestDocumentSchema = ragIngestDocumentSchema;
export type IngestDocument = z.input<typeof ingestDocumentSchema>;

/** What the knowledge base remembers of an ingested document (the index holds its chunks). */
export interface DocumentRecord {
  uri: string;
  /** SHA-256 of the content, metadata and the settings that shape chunks: unchanged = skipped. */
  hash: string;
  title: string;
  team: string;
  classification: string;
  tags: string[];
  chunks: number;
  tokens: number;
  bytes: number;
  updatedAt: number;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const pk = (kb: string) => `RAG#DOC#${kb}`;

/** The document list of each knowledge base, one item per document, in the MetadataStore. */
export class DocumentRegistry {
  constructor(private readonly store: MetadataStore) {}

  async list(kb: string, prefix?: string): Promise<DocumentRecord[]> {
    const items = await this.store.queryAll({ pk: pk(kb), ...(prefix ? { prefix } : {}) });
    return items.map((i) => i.doc as DocumentRecord);
  }

  async put(kb: string, docs: DocumentRecord[]): Promise<void> {
    if (docs.length) await this.store.batchPut(docs.map((doc) => ({ pk: pk(kb), sk: doc.uri, doc })));
  }

  async delete(kb: string, uris: string[]): Promise<void> {
    if (uris.length) await this.store.batchDelete(uris.map((uri) => ({ pk: pk(kb), sk: uri })));
  }
}
