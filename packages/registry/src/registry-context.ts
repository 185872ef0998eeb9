import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import type { Clock, Logger } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { ArtifactLocks } from "./artifact-pins";
import { registryErrors } from "./errors";
import { FrozenRuns } from "./frozen-runs";
import { Governance } from "./governance";
import { ModelRepository } from "./model-repository";
import type { ModelPublisher, RunReader } from "./ports";
import {
  type ModelRecord,
  type ModelVersionView,
  parseStage,
  parseVersion,
  STAGES,
  type Stage,
  type VersionRecord,
  validateModelName,
} from "./records";

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

/** Called after a version changed (the model card is regenerated from it). */
export type VersionListener = (model: ModelRecord, version: number) => Promise<void>;

/** What the registry's resources share: the stores, governance, the listeners and the publisher. */
export class RegistryContext {
  readonly repo: ModelRepository;
  readonly governance: Governance;
  private readonly listeners: VersionListener[] = [];
  readonly frozen: FrozenRuns;
  readonly locks: ArtifactLocks;
  publisher?: ModelPublisher;

  constructor(readonly deps: RegistryServiceDeps) {
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

  /** Runs the version listeners for each changed version. */
  async changed(model: ModelRecord, versions: number[]): Promise<void> {
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

  now() {
    return this.deps.clock.now();
  }

  async getModel(name: string): Promise<ModelRecord> {
    return this.repo.getByName(validateModelName(name));
  }

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

  /** Refuses to rename or delete a model whose versions hold a protected stage or alias. */
  async refuseIfProtected(model: ModelRecord, what: "renamed" | "deleted"): Promise<void> {
    const held = await this.governance.protectedPlaces(model, await this.repo.listVersions(model.id));
    if (held.length) {
      throw registryErrors.denied(
        `model '${model.name}' cannot be ${what}: ${held.join("; ")} (protected by its policy)`,
      );
    }
  }
}

/** The highest version in each stage (all stages unless `stages` narrows them), by stage order. */
export function latest(versions: ModelVersionView[], stages: readonly Stage[] = STAGES): ModelVersionView[] {
  const out: ModelVersionView[] = [];
  for (const stage of stages) {
    const top = versions.filter((v) => v.currentStage === stage).sort((a, b) => b.version - a.version)[0];
    if (top) out.push(top);
  }
  return out;
}

/** MLflow's page-size rules: a default when absent, 1..limit otherwise. */
export function maxResults(input: SearchInput, fallback: number, limit: number): number {
  const max = input.maxResults ?? fallback;
  if (!Number.isInteger(max) || max < 1 || max > limit) {
    throw registryErrors.invalid(`max_results must be between 1 and ${limit}, got ${input.maxResults}`);
  }
  return max;
}
