import type { Governance, PolicyOutcome, PromotionRecord, PromotionStatus } from "./governance";
import type { ModelRepository } from "./model-repository";
import { ModelService, type RegisteredModelView } from "./model-service";
import type { Policy } from "./policy";
import type { PolicyChangeRecord } from "./policy-changes";
import type { ModelPublisher, ProductionApproval } from "./ports";
import { PromotionService } from "./promotion-service";
import type { ModelRecord, ModelVersionView, Target, VersionRecord } from "./records";
import {
  RegistryContext,
  type RegistryServiceDeps,
  type SearchInput,
  type VersionListener,
} from "./registry-context";
import { StageService } from "./stage-service";
import { type NewVersionInput, VersionService } from "./version-service";

/**
 * The model registry: MLflow's registered models and model versions, with every move into a
 * stage or alias passing through governance, and every change appended to the audit trail.
 */
export class RegistryService {
  readonly repo: ModelRepository;
  readonly governance: Governance;
  private readonly ctx: RegistryContext;
  private readonly models: ModelService;
  private readonly versions: VersionService;
  private readonly stages: StageService;
  private readonly promotions: PromotionService;

  constructor(deps: RegistryServiceDeps) {
    this.ctx = new RegistryContext(deps);
    this.repo = this.ctx.repo;
    this.governance = this.ctx.governance;
    this.models = new ModelService(this.ctx);
    this.versions = new VersionService(this.ctx);
    this.stages = new StageService(this.ctx);
    this.promotions = new PromotionService(this.ctx, this.stages);
  }

  /** Sets where versions approved into a protected stage or alias are published (serving is built later). */
  setPublisher(publisher: ModelPublisher | undefined): void {
    this.ctx.setPublisher(publisher);
  }

  /** Registers a callback run after any change to a version (errors are logged, not raised). */
  onVersionChange(listener: VersionListener): void {
    this.ctx.onVersionChange(listener);
  }

  createRegisteredModel(input: {
    name: string;
    description?: string;
    tags?: Array<{ key: string; value: string }>;
  }): Promise<ModelRecord> {
    return this.models.createRegisteredModel(input);
  }

  getModel(name: string): Promise<ModelRecord> {
    return this.ctx.getModel(name);
  }

  getRegisteredModel(name: string): Promise<RegisteredModelView> {
    return this.models.getRegisteredModel(name);
  }

  renameRegisteredModel(name: string, newName: string): Promise<ModelRecord> {
    return this.models.renameRegisteredModel(name, newName);
  }

  updateRegisteredModel(name: string, description: string | undefined): Promise<ModelRecord> {
    return this.models.updateRegisteredModel(name, description);
  }

  deleteRegisteredModel(name: string): Promise<void> {
    return this.models.deleteRegisteredModel(name);
  }

  searchRegisteredModels(input: SearchInput) {
    return this.models.searchRegisteredModels(input);
  }

  getLatestVersions(name: string, stages?: string[]): Promise<ModelVersionView[]> {
    return this.models.getLatestVersions(name, stages);
  }

  setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    return this.models.setRegisteredModelTag(name, key, value);
  }

  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return this.models.deleteRegisteredModelTag(name, key);
  }

  /** Points an alias at a version; a protected alias needs an approved promotion. */
  setAlias(name: string, alias: string, version: string | number): Promise<void> {
    return this.stages.setAlias(name, alias, version);
  }

  deleteAlias(name: string, alias: string): Promise<void> {
    return this.stages.deleteAlias(name, alias);
  }

  getVersionByAlias(name: string, alias: string): Promise<ModelVersionView> {
    return this.stages.getVersionByAlias(name, alias);
  }

  createModelVersion(input: NewVersionInput): Promise<ModelVersionView> {
    return this.versions.createModelVersion(input);
  }

  getModelVersion(name: string, version: string | number): Promise<ModelVersionView> {
    return this.versions.getModelVersion(name, version);
  }

  updateModelVersion(name: string, version: string | number, description: string | undefined) {
    return this.versions.updateModelVersion(name, version, description);
  }

  deleteModelVersion(name: string, version: string | number): Promise<void> {
    return this.versions.deleteModelVersion(name, version);
  }

  searchModelVersions(input: SearchInput) {
    return this.versions.searchModelVersions(input);
  }

  getDownloadUri(name: string, version: string | number): Promise<string> {
    return this.versions.getDownloadUri(name, version);
  }

  /**
   * MLflow's stage transition. A protected stage needs an approved promotion; with
   * `archiveExisting`, other versions in Staging/Production move to Archived.
   */
  transitionStage(
    name: string,
    version: string | number,
    stageInput: string,
    archiveExisting = false,
  ): Promise<ModelVersionView> {
    return this.stages.transitionStage(name, version, stageInput, archiveExisting);
  }

  setVersionTag(name: string, version: string | number, key: string, value: string): Promise<void> {
    return this.versions.setVersionTag(name, version, key, value);
  }

  deleteVersionTag(name: string, version: string | number, key: string): Promise<void> {
    return this.versions.deleteVersionTag(name, version, key);
  }

  /** Records the human-written parts of the model card (intended use, limitations). */
  setCardText(
    name: string,
    version: string | number,
    text: { intendedUse?: string; limitations?: string },
  ): Promise<ModelVersionView> {
    return this.versions.setCardText(name, version, text);
  }

  /**
   * Resolves a reference to one version: a number ("3"), an alias ("@champion" or
   * "champion"), a stage ("Production": its highest version) or "latest".
   */
  resolve(name: string, ref: string): Promise<ModelVersionView> {
    return this.stages.resolve(name, ref);
  }

  /** Whether moving `version` into `target` needs no further approval (for deployments). */
  isAllowed(name: string, version: string | number, target: Target): Promise<boolean> {
    return this.promotions.isAllowed(name, version, target);
  }

  /**
   * The version's approval for production traffic (its latest approved promotion into stage
   * Production or a protected alias) with the digests it pinned; undefined when there is none.
   */
  productionApproval(name: string, version: string): Promise<ProductionApproval | undefined> {
    return this.promotions.productionApproval(name, version);
  }

  /** Why writes to the run's metrics, params, tags or status are refused (tracking's FrozenRuns port). */
  frozenReason(runId: string): Promise<string | undefined> {
    return this.promotions.frozenReason(runId);
  }

  /** Why an artifact path may not be written (or, with `subtree`, deleted): a registered version's files. */
  artifactLock(path: string, subtree: boolean): Promise<string | undefined> {
    return this.promotions.artifactLock(path, subtree);
  }

  getPolicy(name: string): Promise<Policy> {
    return this.promotions.getPolicy(name);
  }

  /** Applies a policy at once when it is no weaker; otherwise opens a policy change for a second admin. */
  setPolicy(name: string, input: unknown, comment = ""): Promise<PolicyOutcome> {
    return this.promotions.setPolicy(name, input, comment);
  }

  getPolicyChange(id: string): Promise<PolicyChangeRecord> {
    return this.promotions.getPolicyChange(id);
  }

  approvePolicyChange(id: string, comment = ""): Promise<PolicyChangeRecord> {
    return this.promotions.approvePolicyChange(id, comment);
  }

  rejectPolicyChange(id: string, comment = ""): Promise<PolicyChangeRecord> {
    return this.promotions.rejectPolicyChange(id, comment);
  }

  /** Opens a promotion request; for an auto-approved stage the move happens at once. */
  requestPromotion(
    name: string,
    version: string | number,
    target: Target,
    comment = "",
    archiveExisting = false,
  ): Promise<PromotionRecord> {
    return this.promotions.requestPromotion(name, version, target, comment, archiveExisting);
  }

  /** Approves (four eyes, checks re-evaluated) and then performs the move. */
  approvePromotion(id: string, comment = ""): Promise<PromotionRecord> {
    return this.promotions.approvePromotion(id, comment);
  }

  rejectPromotion(id: string, comment = ""): Promise<PromotionRecord> {
    return this.promotions.rejectPromotion(id, comment);
  }

  listPromotions(name: string, status?: PromotionStatus): Promise<PromotionRecord[]> {
    return this.promotions.listPromotions(name, status);
  }

  versionOf(model: ModelRecord, version: string | number): Promise<VersionRecord> {
    return this.ctx.versionOf(model, version);
  }

  versionsOf(model: ModelRecord): Promise<ModelVersionView[]> {
    return this.ctx.versionsOf(model);
  }

  view(model: ModelRecord, v: VersionRecord): ModelVersionView {
    return this.ctx.view(model, v);
  }
}
