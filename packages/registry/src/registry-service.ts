import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import { type Clock, currentPrincipal, type Logger, newId } from "@keel/core";
import type { MetadataStore, Update } from "@keel/metadata";
import { ArtifactLocks, storePathOf } from "./artifact-pins";
import { registryErrors } from "./errors";
import { FrozenRuns } from "./frozen-runs";
import {
  Governance,
  type PolicyOutcome,
  type PromotionRecord,
  type PromotionStatus,
  versionResource,
} from "./governance";
import { ModelRepository } from "./model-repository";
import { isProtected, type Policy } from "./policy";
import type { PolicyChangeRecord } from "./policy-changes";
import type { ModelPublisher, ProductionApproval, RunReader } from "./ports";
import {
  type ModelRecord,
  type ModelVersionView,
  parseStage,
  parseVersion,
  STAGES,
  type Stage,
  type Target,
  type VersionRecord,
  validateAlias,
  validateModelName,
  validateNewAlias,
  validateTag,
} from "./records";
import { type Clause, matchClause, paginate, parseFilter, parseOrderBy, sortBy } from "./search-filter";
import { withStageLock } from "./stage-lock";

export interface RegistryServiceDeps {
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  runs?: RunReader;
  /** The artifact store versions' files are pinned (hashed) and locked in. */
  artifacts?: ArtifactStore;
  /** Publishes versions approved into a protected stage or alias (the serving area's). */
  publisher?: ModelPublisher;
  autoApproveStages: string[];
}

export interface SearchInput {
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface RegisteredModelView {
  model: ModelRecord;
  latestVersions: ModelVersionView[];
}

/** Called after a version changed (the model card is regenerated from it). */
export type VersionListener = (model: ModelRecord, version: number) => Promise<void>;

const MODEL_FILTER_KEYS = ["name"] as const;
const MODEL_ORDER_KEYS = ["name", "timestamp", "last_updated_timestamp", "creation_timestamp"] as const;
const VERSION_FILTER_KEYS = ["name", "run_id", "source_path", "version_number", "current_stage"] as const;
const VERSION_ORDER_KEYS = [
  "name",
  "version_number",
  "creation_timestamp",
  "last_updated_timestamp",
  "timestamp",
];

/**
 * The model registry: MLflow's registered models and model versions, with every move into a
 * stage or alias passing through governance, and every change appended to the audit trail.
 */
export class RegistryService {
  readonly repo: ModelRepository;
  readonly governance: Governance;
  private readonly listeners: VersionListener[] = [];
  private readonly frozen: FrozenRuns;
  private readonly locks: ArtifactLocks;
  private publisher?: ModelPublisher;

  constructor(private readonly deps: RegistryServiceDeps) {
    this.repo = new ModelRepository(deps.store, deps.clock);
    this.frozen = new FrozenRuns(deps.store);
    this.locks = new ArtifactLocks(deps.store);
    this.governance = new Governance({
      repo: this.repo,
      audit: deps.audit,
      clock: deps.clock,
      runs: deps.runs,
      artifacts: deps.artifacts,
      frozen: this.frozen,
      // Config spells stages in any case; an unknown one fails the platform's start, loudly.
      autoApproveStages: deps.autoApproveStages.map(parseStage),
    });
    this.publisher = deps.publisher;
  }

  /** Sets where versions approved into a protected stage or alias are published (serving is built later). */
  setPublisher(publisher: ModelPublisher | undefined): void {
    this.publisher = publisher;
  }

  /** Registers a callback run after any change to a version (errors are logged, not raised). */
  onVersionChange(listener: VersionListener): void {
    this.listeners.push(listener);
  }

  private async changed(model: ModelRecord, versions: number[]): Promise<void> {
    for (const v of new Set(versions)) {
      for (const l of this.listeners) {
        try {
          await l(model, v);
        } catch (e) {
          this.deps.log.warn("version listener failed", { model: model.name, version: v, err: String(e) });
        }
      }
    }
  }

  private now() {
    return this.deps.clock.now();
  }

  // ---- registered models -------------------------------------------------------------

  async createRegisteredModel(input: {
    name: string;
    description?: string;
    tags?: Array<{ key: string; value: string }>;
  }): Promise<ModelRecord> {
    const name = validateModelName(input.name);
    for (const t of input.tags ?? []) validateTag(t.key, t.value);
    const now = this.now();
    const model: ModelRecord = {
      id: newId(),
      name,
      description: input.description ?? "",
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      userId: currentPrincipal(),
      tags: Object.fromEntries((input.tags ?? []).map((t) => [t.key, t.value])),
      aliases: {},
    };
    await this.repo.create(model);
    await this.deps.audit.append({
      action: "registry.model.create",
      resource: `model:${name}`,
      state: model,
    });
    return model;
  }

  async getModel(name: string): Promise<ModelRecord> {
    return this.repo.getByName(validateModelName(name));
  }

  async getRegisteredModel(name: string): Promise<RegisteredModelView> {
    const model = await this.getModel(name);
    return { model, latestVersions: latest(await this.versionsOf(model)) };
  }

  async renameRegisteredModel(name: string, newName: string): Promise<ModelRecord> {
    validateModelName(newName);
    const model = await this.getModel(name);
    if (newName === name) return model;
    await this.refuseIfProtected(model, "renamed");
    const renamed = await this.repo.rename(model, newName, this.now());
    await this.deps.audit.append({
      action: "registry.model.rename",
      resource: `model:${newName}`,
      state: { id: model.id, from: name, to: newName },
    });
    await this.changed(
      renamed,
      (await this.repo.listVersions(model.id)).map((v) => v.version),
    );
    return renamed;
  }

  async updateRegisteredModel(name: string, description: string | undefined): Promise<ModelRecord> {
    const model = await this.getModel(name);
    const updated = await this.repo.updateModel(model, {
      set: [
        ["description", description ?? ""],
        ["lastUpdatedTimestamp", this.now()],
      ],
    });
    await this.deps.audit.append({
      action: "registry.model.update",
      resource: `model:${name}`,
      state: { description },
    });
    return updated;
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    const model = await this.getModel(name);
    await this.refuseIfProtected(model, "deleted");
    await this.repo.deleteModel(model);
    await this.deps.audit.append({
      action: "registry.model.delete",
      resource: `model:${name}`,
      state: { id: model.id },
    });
  }

  async searchRegisteredModels(input: SearchInput) {
    const max = maxResults(input, 100, 1000);
    const clauses = parseFilter(input.filter, MODEL_FILTER_KEYS);
    const order = parseOrderBy(input.orderBy, MODEL_ORDER_KEYS);
    const models = (await this.repo.listModels()).filter((m) =>
      clauses.every((c) => matchClause(c, c.key === "name" ? m.name : m.tags[c.key.slice(5)])),
    );
    const sorted = sortBy(models, [...order, { key: "name", descending: false }], (m, key) =>
      key === "name" ? m.name : key === "creation_timestamp" ? m.creationTimestamp : m.lastUpdatedTimestamp,
    );
    const { page, next } = paginate(sorted, max, input.pageToken);
    const views: RegisteredModelView[] = [];
    for (const model of page) views.push({ model, latestVersions: latest(await this.versionsOf(model)) });
    return { models: views, nextPageToken: next };
  }

  async getLatestVersions(name: string, stages?: string[]): Promise<ModelVersionView[]> {
    const model = await this.getModel(name);
    const wanted = stages?.length ? stages.map(parseStage) : undefined;
    return latest(await this.versionsOf(model), wanted);
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    validateTag(key, value);
    const model = await this.getModel(name);
    await this.repo.updateModel(model, { set: [[["tags", key], value]] });
    await this.deps.audit.append({
      action: "registry.model.set_tag",
      resource: `model:${name}`,
      state: { key, value },
    });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    validateTag(key);
    const model = await this.getModel(name);
    // As MLflow's SQL store: deleting an absent tag changes nothing and is not an error.
    if (!(key in model.tags)) return;
    await this.repo.updateModel(model, { remove: [["tags", key]] });
    await this.deps.audit.append({
      action: "registry.model.delete_tag",
      resource: `model:${name}`,
      state: { key },
    });
  }

  // ---- aliases -----------------------------------------------------------------------

  /** Points an alias at a version; a protected alias needs an approved promotion. */
  async setAlias(name: string, alias: string, version: string | number): Promise<void> {
    validateNewAlias(alias);
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    await this.governance.authorize(model, v, { kind: "alias", alias });
    const previous = model.aliases[alias];
    await this.repo.updateModel(model, {
      set: [
        [["aliases", alias], v.version],
        ["lastUpdatedTimestamp", this.now()],
      ],
    });
    // A version deleted between the check and the write must not keep a dangling alias.
    if (!(await this.repo.getVersion(model.id, v.version))) {
      await this.repo.removeAliasIf(model, alias, v.version);
      throw registryErrors.notFound(`Model Version (name=${name}, version=${v.version}) not found`);
    }
    await this.deps.audit.append({
      action: "registry.alias.set",
      resource: versionResource(name, v.version),
      state: { alias, version: v.version, previous },
    });
    await this.changed(model, previous ? [previous, v.version] : [v.version]);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    validateAlias(alias);
    const model = await this.getModel(name);
    const previous = model.aliases[alias];
    if (previous === undefined) return;
    if (isProtected(await this.governance.getPolicy(model.id), { kind: "alias", alias })) {
      throw registryErrors.denied(
        `alias '${alias}' of model '${name}' is protected by its policy and cannot be deleted: point it at ` +
          "another version through an approved promotion, or have two admins remove it from the policy first",
      );
    }
    await this.repo.updateModel(model, { remove: [["aliases", alias]] });
    await this.deps.audit.append({
      action: "registry.alias.delete",
      resource: versionResource(name, previous),
      state: { alias, version: previous },
    });
    await this.changed(model, [previous]);
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersionView> {
    const model = await this.getModel(name);
    const v = model.aliases[alias];
    if (v === undefined) throw registryErrors.invalid(`Registered model alias ${alias} not found.`);
    return this.view(model, await this.versionOf(model, v));
  }

  // ---- model versions ----------------------------------------------------------------

  async createModelVersion(input: {
    name: string;
    source: string;
    runId?: string;
    runLink?: string;
    description?: string;
    tags?: Array<{ key: string; value: string }>;
  }): Promise<ModelVersionView> {
    const model = await this.getModel(input.name);
    if (!input.source?.trim()) throw registryErrors.invalid("model version source must be a non-empty URI");
    for (const t of input.tags ?? []) validateTag(t.key, t.value);
    const runId = input.runId ?? runIdOf(input.source) ?? "";
    const storageLocation = await this.storageLocation(input.source, runId);
    const now = this.now();
    // Everything that can fail on input is checked above: a number is only taken for a write that will happen.
    const version = await this.repo.nextVersion(model, now);
    const record: VersionRecord = {
      modelId: model.id,
      version,
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      userId: currentPrincipal(),
      currentStage: "None",
      description: input.description ?? "",
      source: input.source,
      storageLocation,
      runId,
      runLink: input.runLink ?? "",
      tags: Object.fromEntries((input.tags ?? []).map((t) => [t.key, t.value])),
    };
    // From now on the version's files are immutable through every artifact API.
    const prefix = this.deps.artifacts ? storePathOf(storageLocation, this.deps.artifacts) : undefined;
    if (prefix) await this.locks.lock(prefix, { model: model.name, version });
    await this.repo.putVersion(record);
    await this.deps.audit.append({
      action: "registry.version.create",
      resource: versionResource(model.name, version),
      state: record,
    });
    await this.changed(model, [version]);
    return this.view(model, record);
  }

  /**
   * `runs:/<run_id>/<path>` resolves to the run's artifact location, so the client downloads
   * through the artifact proxy; other URIs are used as given. An unknown run is refused.
   */
  private async storageLocation(source: string, runId: string): Promise<string> {
    const m = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (runId && this.deps.runs) {
      const run = await this.governance.readRun(runId);
      if (!run) throw registryErrors.notFound(`Run with id=${runId} not found`);
      if (m)
        return m[2] ? `${run.run.info.artifact_uri.replace(/\/+$/, "")}/${m[2]}` : run.run.info.artifact_uri;
    }
    return source;
  }

  async getModelVersion(name: string, version: string | number): Promise<ModelVersionView> {
    const model = await this.getModel(name);
    return this.view(model, await this.versionOf(model, version));
  }

  async updateModelVersion(name: string, version: string | number, description: string | undefined) {
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    const updated = await this.repo.updateVersion(name, v, {
      set: [
        ["description", description ?? ""],
        ["lastUpdatedTimestamp", this.now()],
      ],
    });
    await this.deps.audit.append({
      action: "registry.version.update",
      resource: versionResource(name, v.version),
      state: { description },
    });
    await this.changed(model, [v.version]);
    return this.view(model, updated);
  }

  async deleteModelVersion(name: string, version: string | number): Promise<void> {
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    const held = await this.governance.protectedPlaces(model, [v]);
    if (held.length) {
      throw registryErrors.denied(
        `model '${name}' version ${v.version} cannot be deleted: ${held.join("; ")} (protected by the model's policy)`,
      );
    }
    await this.repo.deleteVersion(name, v);
    for (const [alias, target] of Object.entries(model.aliases)) {
      if (target === v.version) await this.repo.removeAliasIf(model, alias, v.version);
    }
    await this.deps.audit.append({
      action: "registry.version.delete",
      resource: versionResource(name, v.version),
      state: { version: v.version },
    });
  }

  async searchModelVersions(input: SearchInput) {
    const max = maxResults(input, 10_000, 200_000);
    const clauses = parseFilter(input.filter, VERSION_FILTER_KEYS);
    const order = parseOrderBy(input.orderBy, VERSION_ORDER_KEYS);
    const nameEq = clauses.find((c) => c.key === "name" && c.op === "=");
    const models = nameEq
      ? [await this.repo.findByName(String(nameEq.value))].filter((m): m is ModelRecord => m !== undefined)
      : await this.repo.listModels();
    const rows: ModelVersionView[] = [];
    for (const model of models) {
      for (const v of await this.versionsOf(model))
        if (clauses.every((c) => matchVersion(c, v))) rows.push(v);
    }
    const sorted = sortBy(
      rows,
      [...order, { key: "name", descending: false }, { key: "version_number", descending: true }],
      (v, key) =>
        key === "name"
          ? v.name
          : key === "version_number"
            ? v.version
            : key === "creation_timestamp"
              ? v.creationTimestamp
              : v.lastUpdatedTimestamp,
    );
    const { page, next } = paginate(sorted, max, input.pageToken);
    return { versions: page, nextPageToken: next };
  }

  async getDownloadUri(name: string, version: string | number): Promise<string> {
    const v = await this.getModelVersion(name, version);
    return v.storageLocation || v.source;
  }

  /**
   * MLflow's stage transition. A protected stage needs an approved promotion; with
   * `archiveExisting`, other versions in Staging/Production move to Archived.
   */
  async transitionStage(
    name: string,
    version: string | number,
    stageInput: string,
    archiveExisting = false,
  ): Promise<ModelVersionView> {
    const stage = parseStage(stageInput);
    if (archiveExisting && stage !== "Staging" && stage !== "Production") {
      throw registryErrors.invalid(
        `archive_existing_versions only applies to the Staging and Production stages, not '${stage}'`,
      );
    }
    const model = await this.getModel(name);
    return withStageLock(this.deps.store, this.deps.clock, model.id, () =>
      this.transitionLocked(model, name, version, stage, archiveExisting),
    );
  }

  private async transitionLocked(
    model: ModelRecord,
    name: string,
    version: string | number,
    stage: Stage,
    archiveExisting: boolean,
  ): Promise<ModelVersionView> {
    const v = await this.versionOf(model, version);
    await this.governance.authorize(model, v, { kind: "stage", stage });
    const now = this.now();
    const updated = await this.repo.updateVersion(name, v, {
      set: [
        ["currentStage", stage],
        ["lastUpdatedTimestamp", now],
      ],
    });
    await this.deps.audit.append({
      action: "registry.version.transition",
      resource: versionResource(name, v.version),
      state: { from: v.currentStage, to: stage, archiveExistingVersions: archiveExisting },
    });
    const touched = [v.version];
    if (archiveExisting) {
      for (const other of await this.repo.listVersions(model.id)) {
        if (other.version === v.version || other.currentStage !== stage) continue;
        // A version deleted or moved meanwhile is no longer in the stage: nothing to archive.
        const archived = await this.repo
          .updateVersion(
            name,
            other,
            {
              set: [
                ["currentStage", "Archived"],
                ["lastUpdatedTimestamp", now],
              ],
            },
            { path: "currentStage", eq: stage },
          )
          .catch((e) => {
            if ((e as { code?: string }).code === "RESOURCE_DOES_NOT_EXIST") return undefined;
            throw e;
          });
        if (!archived) continue;
        await this.deps.audit.append({
          action: "registry.version.transition",
          resource: versionResource(name, other.version),
          state: { from: stage, to: "Archived", archivedBy: v.version },
        });
        touched.push(other.version);
      }
    }
    await this.changed(model, touched);
    return this.view(model, updated);
  }

  async setVersionTag(name: string, version: string | number, key: string, value: string): Promise<void> {
    validateTag(key, value);
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    await this.repo.updateVersion(name, v, { set: [[["tags", key], value]] });
    await this.deps.audit.append({
      action: "registry.version.set_tag",
      resource: versionResource(name, v.version),
      state: { key, value },
    });
    await this.changed(model, [v.version]);
  }

  async deleteVersionTag(name: string, version: string | number, key: string): Promise<void> {
    validateTag(key);
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    if (!(key in v.tags)) return;
    await this.repo.updateVersion(name, v, { remove: [["tags", key]] });
    await this.deps.audit.append({
      action: "registry.version.delete_tag",
      resource: versionResource(name, v.version),
      state: { key },
    });
    await this.changed(model, [v.version]);
  }

  /** Records the human-written parts of the model card (intended use, limitations). */
  async setCardText(
    name: string,
    version: string | number,
    text: { intendedUse?: string; limitations?: string },
  ): Promise<ModelVersionView> {
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    const update: Update = { set: [["lastUpdatedTimestamp", this.now()]] };
    if (text.intendedUse !== undefined) update.set!.push(["intendedUse", text.intendedUse]);
    if (text.limitations !== undefined) update.set!.push(["limitations", text.limitations]);
    const updated = await this.repo.updateVersion(name, v, update);
    await this.deps.audit.append({
      action: "registry.card.update",
      resource: versionResource(name, v.version),
      state: text,
    });
    await this.changed(model, [v.version]);
    return this.view(model, updated);
  }

  // ---- resolution for serving and governance -----------------------------------------

  /**
   * Resolves a reference to one version: a number ("3"), an alias ("@champion" or
   * "champion"), a stage ("Production": its highest version) or "latest".
   */
  async resolve(name: string, ref: string): Promise<ModelVersionView> {
    const model = await this.getModel(name);
    const r = ref.trim();
    if (/^\d+$/.test(r)) return this.view(model, await this.versionOf(model, r));
    const versions = await this.versionsOf(model);
    if (r.toLowerCase() === "latest") {
      const top = versions.sort((a, b) => b.version - a.version)[0];
      if (!top) throw registryErrors.notFound(`Registered Model ${name} has no versions`);
      return top;
    }
    // A stage name always means the stage: an alias spelled like one (older data) cannot shadow it.
    const stage = STAGES.find((s) => s.toLowerCase() === r.toLowerCase());
    if (stage) {
      const [top] = latest(versions, [stage]);
      if (!top) throw registryErrors.notFound(`Registered Model ${name} has no version in stage '${stage}'`);
      return top;
    }
    const alias = r.startsWith("@") ? r.slice(1) : r;
    if (model.aliases[alias] !== undefined)
      return this.view(model, await this.versionOf(model, model.aliases[alias]));
    throw registryErrors.notFound(
      `'${ref}' is neither a version, an alias nor a stage of Registered Model ${name}`,
    );
  }

  /** Whether moving `version` into `target` needs no further approval (for deployments). */
  async isAllowed(name: string, version: string | number, target: Target): Promise<boolean> {
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    return this.governance.isAllowed(model, v, target);
  }

  /**
   * The version's approval for production traffic (its latest approved promotion into stage
   * Production or a protected alias) with the digests it pinned; undefined when there is none.
   */
  async productionApproval(name: string, version: string): Promise<ProductionApproval | undefined> {
    const model = await this.getModel(name);
    return this.governance.productionApproval(model, (await this.versionOf(model, version)).version);
  }

  /** Why writes to the run's metrics, params, tags or status are refused (tracking's FrozenRuns port). */
  async frozenReason(runId: string): Promise<string | undefined> {
    return this.frozen.reason(runId);
  }

  /** Why an artifact path may not be written (or, with `subtree`, deleted): a registered version's files. */
  async artifactLock(path: string, subtree: boolean): Promise<string | undefined> {
    return this.locks.lockedBy(path, subtree);
  }

  private async refuseIfProtected(model: ModelRecord, what: "renamed" | "deleted"): Promise<void> {
    const held = await this.governance.protectedPlaces(model, await this.repo.listVersions(model.id));
    if (held.length) {
      throw registryErrors.denied(
        `model '${model.name}' cannot be ${what}: ${held.join("; ")} (protected by its policy)`,
      );
    }
  }

  // ---- governance ----------------------------------------------------------------------

  async getPolicy(name: string): Promise<Policy> {
    return this.governance.getPolicy((await this.getModel(name)).id);
  }

  /** Applies a policy at once when it is no weaker; otherwise opens a policy change for a second admin. */
  async setPolicy(name: string, input: unknown, comment = ""): Promise<PolicyOutcome> {
    return this.governance.setPolicy(await this.getModel(name), input, comment);
  }

  async getPolicyChange(id: string): Promise<PolicyChangeRecord> {
    return this.governance.policyChanges.get(id);
  }

  async approvePolicyChange(id: string, comment = ""): Promise<PolicyChangeRecord> {
    return this.governance.policyChanges.approve(id, comment);
  }

  async rejectPolicyChange(id: string, comment = ""): Promise<PolicyChangeRecord> {
    return this.governance.policyChanges.reject(id, comment);
  }

  /** Opens a promotion request; for an auto-approved stage the move happens at once. */
  async requestPromotion(
    name: string,
    version: string | number,
    target: Target,
    comment = "",
    archiveExisting = false,
  ): Promise<PromotionRecord> {
    if (target.kind === "alias") validateNewAlias(target.alias);
    const model = await this.getModel(name);
    const v = await this.versionOf(model, version);
    const req = await this.governance.request(model, v, target, comment, archiveExisting);
    if (req.status === "APPROVED") await this.applyPromotion(req);
    else await this.changed(model, [v.version]);
    return req;
  }

  /** Approves (four eyes, checks re-evaluated) and then performs the move. */
  async approvePromotion(id: string, comment = ""): Promise<PromotionRecord> {
    const approved = await this.governance.approve(id, comment, async (r) => {
      const model = await this.repo.getById(r.modelId);
      if (!model) throw registryErrors.notFound(`the model of promotion request ${id} no longer exists`);
      return { model, version: await this.versionOf(model, r.version) };
    });
    await this.applyPromotion(approved);
    return approved;
  }

  async rejectPromotion(id: string, comment = ""): Promise<PromotionRecord> {
    const rejected = await this.governance.reject(id, comment);
    const model = await this.repo.getById(rejected.modelId);
    if (model) await this.changed(model, [rejected.version]);
    return rejected;
  }

  async listPromotions(name: string, status?: PromotionStatus): Promise<PromotionRecord[]> {
    return this.governance.listRequests((await this.getModel(name)).id, status);
  }

  private async applyPromotion(r: PromotionRecord): Promise<void> {
    const model = await this.repo.getById(r.modelId);
    if (!model) throw registryErrors.notFound(`the model of promotion request ${r.id} no longer exists`);
    // Publish first: when the copy into the model repository fails, the version stays where it was.
    const publisher = this.publisher;
    if (publisher && isProtected(await this.governance.getPolicy(model.id), r.target)) {
      await publisher.publish({
        model: model.name,
        version: String(r.version),
        sourceUri: r.sourceUri ?? "",
        digests: r.artifactDigests ?? {},
      });
    }
    if (r.target.kind === "stage") {
      await this.transitionStage(model.name, r.version, r.target.stage, r.archiveExistingVersions);
    } else {
      await this.setAlias(model.name, r.target.alias, r.version);
    }
  }

  // ---- helpers -----------------------------------------------------------------------

  async versionOf(model: ModelRecord, version: string | number): Promise<VersionRecord> {
    const n = parseVersion(version);
    const v = await this.repo.getVersion(model.id, n);
    if (!v) throw registryErrors.notFound(`Model Version (name=${model.name}, version=${n}) not found`);
    return v;
  }

  async versionsOf(model: ModelRecord): Promise<ModelVersionView[]> {
    return (await this.repo.listVersions(model.id)).map((v) => this.view(model, v));
  }

  view(model: ModelRecord, v: VersionRecord): ModelVersionView {
    const aliases = Object.entries(model.aliases)
      .filter(([, n]) => n === v.version)
      .map(([a]) => a)
      .sort();
    return { ...v, name: model.name, aliases };
  }
}

/** The highest version in each stage (all stages unless `stages` narrows them), by stage order. */
function latest(versions: ModelVersionView[], stages: readonly Stage[] = STAGES): ModelVersionView[] {
  const out: ModelVersionView[] = [];
  for (const stage of stages) {
    const top = versions.filter((v) => v.currentStage === stage).sort((a, b) => b.version - a.version)[0];
    if (top) out.push(top);
  }
  return out;
}

/** MLflow's page-size rules: a default when absent, 1..limit otherwise. */
function maxResults(input: SearchInput, fallback: number, limit: number): number {
  const max = input.maxResults ?? fallback;
  if (!Number.isInteger(max) || max < 1 || max > limit) {
    throw registryErrors.invalid(`max_results must be between 1 and ${limit}, got ${input.maxResults}`);
  }
  return max;
}

function runIdOf(source: string): string | undefined {
  return /^runs:\/([^/]+)/.exec(source)?.[1];
}

function matchVersion(c: Clause, v: ModelVersionView): boolean {
  switch (c.key) {
    case "name":
      return matchClause(c, v.name);
    case "run_id":
      return matchClause(c, v.runId);
    case "source_path":
      return matchClause(c, v.source);
    case "version_number":
      return matchClause(c, v.version);
    case "current_stage":
      return matchClause(c, v.currentStage);
    default:
      return matchClause(c, v.tags[c.key.slice(5)]);
  }
}
