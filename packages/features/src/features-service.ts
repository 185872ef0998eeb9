import type { AuditLog } from "@keel/audit";
import type { Clock } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { type HistoricalRequest, type HistoricalResult, getHistoricalFeatures } from "./historical";
import { type MaterializeRequest, type MaterializeViewResult, materialize } from "./materialize";
import type { OfflineStore } from "./offline/port";
import { getOnlineFeatures, type OnlineRequest, type OnlineResponse } from "./online-serving";
import type { OnlineStore } from "./online/port";
import { type PushRequest, type PushResult, push } from "./push";
import { type ApplyResult, FeatureRegistry, type RegistrySnapshot } from "./registry";

export interface FeaturesServiceDeps {
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  online: OnlineStore;
  offline: OfflineStore;
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

  /** Validates and registers definitions; see `FeatureRegistry.apply`. */
  apply(definitions: unknown, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    return this.registry.apply(definitions, opts);
  }

  definitions(): Promise<RegistrySnapshot> {
    return this.registry.current();
  }

  /** Online features in Feast's response shape, by feature list or feature service. */
  async getOnlineFeatures(req: OnlineRequest): Promise<OnlineResponse> {
    const { catalog } = await this.registry.current();
    return getOnlineFeatures(this.deps.online, catalog, req, this.deps.clock.now());
  }

  /** A point-in-time correct training set from the registered definitions. */
  async getHistoricalFeatures(req: HistoricalRequest): Promise<HistoricalResult> {
    const { catalog } = await this.registry.current();
    return getHistoricalFeatures(this.deps.offline, catalog, req);
  }

  /** Offline -> online, full or incremental; see `materialize`. */
  async materialize(req: MaterializeRequest = {}): Promise<MaterializeViewResult[]> {
    const { catalog } = await this.registry.current({ fresh: true });
    const { offline, online, clock } = this.deps;
    return materialize({ offline, online, registry: this.registry, catalog, nowMs: clock.now() }, req);
  }

  async push(req: PushRequest): Promise<PushResult> {
    const { catalog } = await this.registry.current();
    const { offline, online, clock } = this.deps;
    return push({ offline, online, catalog, nowMs: clock.now() }, req);
  }
}
