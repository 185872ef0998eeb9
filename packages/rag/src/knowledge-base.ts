import {
  RAG_KB_NAME,
  RAG_LABEL,
  ragKnowledgeBaseInputSchema,
  ragKnowledgeBasePatchSchema,
} from "@keel/contract";
import { canonicalPrincipal, KeelError, parseWith } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import type { z } from "zod";

export const KB_NAME = RAG_KB_NAME;
export const LABEL = RAG_LABEL;
export const knowledgeBaseInputSchema = ragKnowledgeBaseInputSchema;
export const knowledgeBasePatchSchema = ragKnowledgeBasePatchSchema;

export type KnowledgeBaseInput = z.input<typeof knowledgeBaseInputSchema>;
export type KnowledgeBase = z.output<typeof knowledgeBaseInputSchema> & {
  createdAt: number;
  createdBy: string;
  updatedAt: number;
};
export type KnowledgeBasePatch = z.input<typeof knowledgeBasePatchSchema>;

const PK = "RAG#KB";

function canonicalTeams(teams: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(teams).map(([t, ps]) => [t, [...new Set(ps.map(canonicalPrincipal))]]),
  );
}

/** Knowledge bases as data in the MetadataStore (one item each under `RAG#KB`). */
export class KnowledgeBaseStore {
  constructor(private readonly store: MetadataStore) {}

  async create(input: KnowledgeBaseInput, principal: string, now: number): Promise<KnowledgeBase> {
    const parsed = parseWith(knowledgeBaseInputSchema, input, "knowledge base");
    const teams = canonicalTeams(parsed.teams);
    teams[parsed.ownerTeam] = [...new Set([...(teams[parsed.ownerTeam] ?? []), principal])];
    const kb: KnowledgeBase = { ...parsed, teams, createdAt: now, createdBy: principal, updatedAt: now };
    try {
      await this.store.put({ pk: PK, sk: kb.name, kb }, { condition: { exists: false } });
    } catch (e) {
      if (isConditionFailed(e))
        throw new KeelError("RESOURCE_ALREADY_EXISTS", `knowledge base '${kb.name}' already exists`);
      throw e;
    }
    return kb;
  }

  async get(name: string): Promise<KnowledgeBase> {
    if (!KB_NAME.test(name)) throw new KeelError("RESOURCE_DOES_NOT_EXIST", `no knowledge base '${name}'`);
    const item = await this.store.get({ pk: PK, sk: name });
    if (!item) throw new KeelError("RESOURCE_DOES_NOT_EXIST", `no knowledge base '${name}'`);
    return item.kb as KnowledgeBase;
  }

  async list(): Promise<KnowledgeBase[]> {
    return (await this.store.queryAll({ pk: PK })).map((i) => i.kb as KnowledgeBase);
  }

  async update(name: string, patch: KnowledgeBasePatch, now: number): Promise<KnowledgeBase> {
    const current = await this.get(name);
    const p = parseWith(knowledgeBasePatchSchema, patch, "knowledge base change");
    const merged = {
      ...current,
      ...p,
      ...(p.retrieval ? { retrieval: { ...current.retrieval, ...p.retrieval } } : {}),
      updatedAt: now,
    } as KnowledgeBase;
    if (p.embedding === null) delete merged.embedding;
    if (p.teams) merged.teams = canonicalTeams(p.teams);
    const { createdAt: _c, createdBy: _b, updatedAt: _u, ...settings } = merged;
    parseWith(knowledgeBaseInputSchema, settings, "knowledge base");
    try {
      await this.store.put(
        { pk: PK, sk: name, kb: merged },
        { condition: { path: ["kb", "updatedAt"], eq: current.updatedAt } },
      );
    } catch (e) {
      if (isConditionFailed(e))
        throw new KeelError("ABORTED", `knowledge base '${name}' changed meanwhile; retry`);
      throw e;
    }
    return merged;
  }

  async delete(name: string): Promise<void> {
    await this.store.delete({ pk: PK, sk: name });
  }
}
