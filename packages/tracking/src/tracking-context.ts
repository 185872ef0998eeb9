import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import type { Clock } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { missingParam, TrackingError } from "./errors";
import { DEFAULT_EXPERIMENT_ID, ExperimentStore } from "./experiment-store";
import { LoggedModelStore } from "./logged-models/logged-model-store";
import { MetricHistoryStore } from "./metric-history-store";
import type { FrozenRuns } from "./ports";
import { type RunRecord, RunStore } from "./run-store";
import type { ViewType } from "./schemas";

export interface TrackingDeps {
  store: MetadataStore;
  artifacts: ArtifactStore;
  /** Only appends: tracking records lifecycle changes, it never reads the log. */
  audit: Pick<AuditLog, "append">;
  clock: Clock;
  config: { artifactRoot: string };
  /** Runs a pending or approved promotion relies on: writes to them are refused (the registry's). */
  frozen?: FrozenRuns;
}

export const lifecycleVisible = (stage: "active" | "deleted", view: ViewType) =>
  view === "ALL" || (view === "ACTIVE_ONLY" ? stage === "active" : stage === "deleted");

export const requireRunId = (r: { run_id?: string; run_uuid?: string }): string => {
  const id = r.run_id || r.run_uuid;
  if (!id) throw missingParam("run_id");
  return id;
};

/** What the tracking resources share: the deps, the stores, the clock and the frozen-run guard. */
export class TrackingContext {
  readonly experiments: ExperimentStore;
  readonly runs: RunStore;
  readonly history: MetricHistoryStore;
  /** MLflow 3 logged models (log-metric and log-inputs refer to them). */
  readonly loggedModels: LoggedModelStore;
  private defaultReady?: Promise<void>;

  constructor(readonly deps: TrackingDeps) {
    const now = () => deps.clock.now();
    this.experiments = new ExperimentStore(deps.store, now);
    this.runs = new RunStore(deps.store);
    this.history = new MetricHistoryStore(deps.store, now);
    this.loggedModels = new LoggedModelStore(deps.store);
  }

  now(): number {
    return this.deps.clock.now();
  }

  /** Refuses (403, audited) a change to a run that a pending or approved promotion relies on. */
  async assertNotFrozen(runId: string, what: string): Promise<void> {
    const reason = await this.deps.frozen?.isFrozen(runId);
    if (!reason) return;
    await this.deps.audit.append({
      action: "tracking.run.write_refused",
      resource: `run:${runId}`,
      state: { write: what, reason },
    });
    throw new TrackingError("PERMISSION_DENIED", `${what} refused: ${reason}`);
  }

  /** Where a new experiment's artifacts go: S3 in AWS, the artifact proxy scheme locally. */
  artifactLocationFor(experimentId: string): string {
    const root = this.deps.config.artifactRoot;
    return root.startsWith("s3://")
      ? `${root.replace(/\/+$/, "")}/${experimentId}`
      : `mlflow-artifacts:/${experimentId}`;
  }

  /** Creates the Default experiment "0" on first use. */
  ensureDefaultExperiment(): Promise<void> {
    this.defaultReady ??= this.experiments
      .ensureDefault(this.artifactLocationFor(DEFAULT_EXPERIMENT_ID))
      .catch((e) => {
        this.defaultReady = undefined;
        throw e;
      });
    return this.defaultReady;
  }

  /** Marks a run record active or deleted (with its deletion time). */
  applyLifecycle(rec: RunRecord, stage: "active" | "deleted"): void {
    rec.lifecycleStage = stage;
    rec.deletedTime = stage === "deleted" ? this.now() : undefined;
  }
}
