import { type CallInput, governanceRoutes as g, registryRoutes as r } from "@keel/contract";
import type { Caller } from "./caller";

type Body<R extends Parameters<Caller>[0]> = CallInput<R> extends { body?: infer B } ? B : never;

/** The model registry (MLflow) and Keel's governance on it: promotions, lineage, cards. */
export class RegistryClient {
  constructor(private readonly call: Caller) {}

  async createModel(name: string, opts: { description?: string } = {}) {
    return (await this.call(r.createRegisteredModel, { body: { name, ...opts } })).registered_model;
  }
  async getModel(name: string) {
    return (await this.call(r.getRegisteredModel, { body: { name } })).registered_model;
  }
  async searchModels(body: Body<typeof r.searchRegisteredModels> = {}) {
    return this.call(r.searchRegisteredModels, { body });
  }
  async createVersion(body: Body<typeof r.createModelVersion>) {
    return (await this.call(r.createModelVersion, { body })).model_version;
  }
  async getVersion(name: string, version: string | number) {
    return (await this.call(r.getModelVersion, { body: { name, version } })).model_version;
  }
  async searchVersions(body: Body<typeof r.searchModelVersions> = {}) {
    return this.call(r.searchModelVersions, { body });
  }
  async versionByAlias(name: string, alias: string) {
    return (await this.call(r.getVersionByAlias, { body: { name, alias } })).model_version;
  }
  async setAlias(name: string, alias: string, version: string | number) {
    await this.call(r.setAlias, { body: { name, alias, version } });
  }
  async transitionStage(name: string, version: string | number, stage: string, archiveExisting = false) {
    const body = { name, version, stage, archive_existing_versions: archiveExisting };
    return (await this.call(r.transitionStage, { body })).model_version;
  }

  // ---- governance ----
  async getPolicy(model: string) {
    return (await this.call(g.getPolicy, { params: { name: model } })).policy;
  }
  /** A stricter policy applies at once (`{ policy }`); a weaker one waits for a second admin (`{ policy_change }`). */
  async setPolicy(model: string, policy: Record<string, unknown>) {
    return this.call(g.setPolicy, { params: { name: model }, body: policy });
  }
  async getPolicyChange(id: string) {
    return (await this.call(g.getPolicyChange, { params: { id } })).policy_change;
  }
  async approvePolicyChange(id: string, comment?: string) {
    return (await this.call(g.approvePolicyChange, { params: { id }, body: { comment } })).policy_change;
  }
  async rejectPolicyChange(id: string, comment?: string) {
    return (await this.call(g.rejectPolicyChange, { params: { id }, body: { comment } })).policy_change;
  }
  /** Asks for a version to move to a stage or alias; a second person approves. */
  async requestPromotion(model: string, version: string, body: Body<typeof g.requestPromotion>) {
    return (await this.call(g.requestPromotion, { params: { name: model, version }, body })).promotion;
  }
  async promotions(model: string, status?: "PENDING" | "APPROVED" | "REJECTED") {
    return (await this.call(g.listPromotions, { params: { name: model }, query: { status } })).promotions;
  }
  async getPromotion(id: string) {
    return (await this.call(g.getPromotion, { params: { id } })).promotion;
  }
  async approve(id: string, comment?: string) {
    return (await this.call(g.approvePromotion, { params: { id }, body: { comment } })).promotion;
  }
  async reject(id: string, comment?: string) {
    return (await this.call(g.rejectPromotion, { params: { id }, body: { comment } })).promotion;
  }
  async lineage(model: string, version: string) {
    return (await this.call(g.getLineage, { params: { name: model, version } })).lineage;
  }
  /** The model card as Markdown (or HTML). */
  async card(model: string, version: string, format: "markdown" | "html" = "markdown"): Promise<string> {
    return this.call(g.getCard, { params: { name: model, version }, query: { format } }) as Promise<string>;
  }
}
