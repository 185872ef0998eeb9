import type { AuditLog } from "@keel/audit";
import type { Clock } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { type ApiPathRoots, outputPath, readablePath } from "./api-paths";
import { declaredSourceColumns, FeatureCatalog, outputName } from "./catalog";
import { type ConsistencyReport, type ConsistencyRequest, checkConsistency } from "./consistency";
import {
  checkSourceColumns,
  getHistoricalFeatures,
  type HistoricalRequest,
  type HistoricalResult,
} from "./historical";
import { type MaterializeRequest, type MaterializeViewResult, materialize } from "./materialize";
import type { OfflineStore } from "./offline/port";
import type { OnlineStore } from "./online/port";
import { getOnlineFeatures, type OnlineRequest, type OnlineResponse } from "./online-serving";
import { type PushRequest, type PushResult, push } from "./push";
import { type ApplyResult, FeatureRegistry, type RegistrySnapshot } from "./registry";

export interface FeaturesServiceDeps {
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  online: OnlineStore;
  offline: OfflineStore;
  /** Where callers' outputs are written and from where their input files may be read. */
  paths: ApiPathRoots;
}

/**
 * The feature store's operations over the registered definitions (cached in process by the
 * registry). HTTP routes, the CLI, the materialization Lambda and the serving router's
 * enrichment all call this.
 */
export class FeaturesService {
  readonly registry: FeatureRegistry;

  constructor(private readonly deps: FeaturesServiceDeps) {
    this.registry = new FeatureRegistry(deps.store, deps.audit, deps.clock);
  }

  /**
   * Validates and registers definitions; see `FeatureRegistry.apply`. Views whose source data
   * can already be read are checked against it first (every declared column present, with a
   * compatible type), so a bad definition is refused before anything is registered; sources
   * with no data yet are checked when they are first read.
   */
  async apply(definitions: unknown, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    const catalog = new FeatureCatalog(definitions);
    const { offline } = this.deps;
    for (const rv of catalog.allViews()) {
      const cols = await offline.describeSource(rv.source).catch(() => undefined);
      if (cols) checkSourceColumns(rv, cols);
    }
    if (opts.dryRun) return this.registry.apply(catalog.repo, opts);
    const plan = await this.registry.apply(catalog.repo, { dryRun: true });
    if (plan.diff.length === 0) return plan;
    // Idempotent, so it runs before the registry moves: a failed apply can simply be re-run.
    for (const { source, columns } of declaredSourceColumns(catalog.allViews())) {
      await offline.registerSource(source, columns);
    }
    return this.registry.apply(catalog.repo);
  }

  definitions(): Promise<RegistrySnapshot> {
    return this.registry.current();
  }

  /**
   * The features of a feature service that are personal data, named as responses name them
   * (plain and `view__feature`): every feature of a view tagged `pii: "true"`, or the features
   * a view's `pii` tag lists ("email,phone"). The prediction log pseudonymizes or drops them.
   */
  async piiFeatures(featureService: string): Promise<string[]> {
    const { catalog } = await this.registry.current();
    const out: string[] = [];
    for (const sel of catalog.select({ featureService })) {
      const tag = sel.view.view.tags.pii;
      if (tag === undefined || tag === "false") continue;
      const listed = tag === "true" || tag === "" ? undefined : new Set(tag.split(",").map((t) => t.trim()));
      for (const f of sel.features)
        if (!listed || listed.has(f.name))
          out.push(
            outputName(sel.view.view.name, f.name, false),
            outputName(sel.view.view.name, f.name, true),
          );
    }
    return out;
  }

  /** Online features in Feast's response shape, by feature list or feature service. */
  async getOnlineFeatures(req: OnlineRequest): Promise<OnlineResponse> {
    const { catalog } = await this.registry.current();
    return getOnlineFeatures(this.deps.online, catalog, req, this.deps.clock.now());
  }

  /**
   * A point-in-time correct training set from the registered definitions, for API callers:
   * `outPath` is a relative name written under the outputs root (the result's `uri` says
   * where), and an entity file is read only under the server's own roots.
   */
  async getHistoricalFeatures(req: HistoricalRequest): Promise<HistoricalResult> {
    const { paths } = this.deps;
    const entities =
      "path" in req.entities
        ? { path: readablePath(req.entities.path, paths, "entities_path") }
        : req.entities;
    const outPath = req.outPath === undefined ? undefined : outputPath(req.outPath, paths, "out_path");
    const { catalog } = await this.registry.current();
    const res = await getHistoricalFeatures(this.deps.offline, catalog, { ...req, entities, outPath });
    return outPath === undefined ? res : { ...res, uri: outPath };
  }

  /** Offline -> online, full or incremental; see `materialize`. */
  async materialize(req: MaterializeRequest = {}): Promise<MaterializeViewResult[]> {
    const { catalog } = await this.registry.current({ fresh: true });
    const { offline, online, clock } = this.deps;
    return materialize({ offline, online, registry: this.registry, catalog, nowMs: clock.now() }, req);
  }

  /** Training-serving skew of one online view; see `checkConsistency`. */
  async checkConsistency(req: ConsistencyRequest): Promise<ConsistencyReport> {
    const { catalog } = await this.registry.current({ fresh: true });
    const { offline, online, clock } = this.deps;
    return checkConsistency({ offline, online, catalog, nowMs: clock.now() }, req);
  }

  async push(req: PushRequest): Promise<PushResult> {
    const { catalog } = await this.registry.current();
    const { offline, online, clock } = this.deps;
    return push({ offline, online, catalog, nowMs: clock.now() }, req);
  }
}
