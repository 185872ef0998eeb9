import {
  type Entity,
  type FeatureRepo,
  type FeatureServiceDef,
  type FeatureView,
  type Field,
  type FileSource,
  featureRepoSchema,
  type PushSource,
} from "./definitions";
import { invalidFeatures, unknownFeatures } from "./errors";
import type { SqlColumn } from "./offline/port";

/** A feature view with everything a join or a lookup needs, resolved once. */
export interface ResolvedView {
  view: FeatureView;
  /** The entities' join keys, in the view's entity order. */
  joinKeys: Array<{ name: string; valueType: Entity["valueType"] }>;
  /** The offline source the view reads (a push source resolves to its batch source). */
  source: FileSource;
  pushSource?: PushSource;
}

/** A requested set of features of one view. */
export interface ViewSelection {
  view: ResolvedView;
  features: Field[];
}

/**
 * An immutable, validated feature repository with lookups. Construction checks every
 * cross-reference (entities, sources, services), so code holding a catalog never meets a
 * dangling name.
 */
export class FeatureCatalog {
  readonly repo: FeatureRepo;
  private readonly views = new Map<string, ResolvedView>();
  private readonly services = new Map<string, FeatureServiceDef>();
  private readonly pushSources = new Map<string, PushSource>();
  private readonly serviceSelections = new Map<string, ViewSelection[]>();

  constructor(input: unknown) {
    const parsed = featureRepoSchema.safeParse(input);
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `${i.path.join(".") || "repo"}: ${i.message}`).join("; ");
      throw invalidFeatures(`invalid feature definitions: ${msg}`);
    }
    const repo = parsed.data;
    this.repo = repo;
    const entities = uniqueByName("entity", repo.entities);
    const sources = uniqueByName("source", repo.sources);
    uniqueByName("feature view", repo.featureViews);
    uniqueByName("feature service", repo.featureServices);

    for (const s of repo.sources) {
      if (s.kind !== "push_source") continue;
      const batch = sources.get(s.batchSource);
      if (batch?.kind !== "file_source")
        throw invalidFeatures(`push source '${s.name}': batchSource '${s.batchSource}' is not a file source`);
      if (!batch.path.endsWith("/"))
        throw invalidFeatures(
          `push source '${s.name}': its batch source '${batch.name}' must be a prefix ending in "/" so pushes can append files`,
        );
      this.pushSources.set(s.name, s);
    }
    for (const v of repo.featureViews) {
      const joinKeys = v.entities.map((name) => {
        const e = entities.get(name);
        if (!e) throw invalidFeatures(`feature view '${v.name}': unknown entity '${name}'`);
        return { name: e.joinKey, valueType: e.valueType };
      });
      const src = sources.get(v.source);
      if (!src) throw invalidFeatures(`feature view '${v.name}': unknown source '${v.source}'`);
      const push = src.kind === "push_source" ? src : undefined;
      const file = push ? (sources.get(push.batchSource) as FileSource) : (src as FileSource);
      const names = new Set<string>();
      for (const f of v.schema) {
        if (names.has(f.name))
          throw invalidFeatures(`feature view '${v.name}': feature '${f.name}' declared twice`);
        if (joinKeys.some((k) => k.name === f.name) || f.name === file.timestampField)
          throw invalidFeatures(
            `feature view '${v.name}': feature '${f.name}' clashes with a join key or timestamp`,
          );
        names.add(f.name);
      }
      this.views.set(v.name, { view: v, joinKeys, source: file, pushSource: push });
    }
    for (const s of repo.featureServices) {
      this.resolveRefs(s.features, `feature service '${s.name}'`);
      this.services.set(s.name, s);
    }
  }

  /** The view by name; RESOURCE_DOES_NOT_EXIST otherwise. */
  getView(name: string): ResolvedView {
    const v = this.views.get(name);
    if (!v) throw unknownFeatures(`unknown feature view '${name}'`);
    return v;
  }

  allViews(): ResolvedView[] {
    return [...this.views.values()];
  }

  getService(name: string): FeatureServiceDef {
    const s = this.services.get(name);
    if (!s) throw unknownFeatures(`unknown feature service '${name}'`);
    return s;
  }

  getPushSource(name: string): PushSource {
    const s = this.pushSources.get(name);
    if (!s) throw unknownFeatures(`unknown push source '${name}'`);
    return s;
  }

  /** Views fed by a push source. */
  viewsOfPushSource(name: string): ResolvedView[] {
    return this.allViews().filter((v) => v.pushSource?.name === name);
  }

  /**
   * Resolves "view:feature" / "view" references into per-view selections, in first-seen view
   * order; unknown views or features are errors naming them.
   */
  resolveRefs(refs: string[], what = "request"): ViewSelection[] {
    const out = new Map<string, ViewSelection>();
    for (const ref of refs) {
      const [viewName, featureName] = ref.split(":", 2);
      const rv = this.views.get(viewName);
      if (!rv) throw unknownFeatures(`${what}: unknown feature view '${viewName}' in '${ref}'`);
      let sel = out.get(viewName);
      if (!sel) {
        sel = { view: rv, features: [] };
        out.set(viewName, sel);
      }
      const wanted =
        featureName === undefined ? rv.view.schema : rv.view.schema.filter((f) => f.name === featureName);
      if (wanted.length === 0)
        throw unknownFeatures(`${what}: feature view '${viewName}' has no feature '${featureName}'`);
      for (const f of wanted) if (!sel.features.some((x) => x.name === f.name)) sel.features.push(f);
    }
    if (out.size === 0) throw invalidFeatures(`${what}: no features requested`);
    return [...out.values()];
  }

  /** Selections for either a feature service or a list of references. */
  select(req: { featureService?: string; features?: string[] }): ViewSelection[] {
    if (req.featureService && req.features?.length)
      throw invalidFeatures("give either a feature service or a list of features, not both");
    if (req.featureService) {
      // A catalog never changes, so a service's selections are resolved once (online reads ask per request).
      let sels = this.serviceSelections.get(req.featureService);
      if (!sels) {
        sels = this.resolveRefs(this.getService(req.featureService).features);
        this.serviceSelections.set(req.featureService, sels);
      }
      return sels;
    }
    return this.resolveRefs(req.features ?? []);
  }
}

function uniqueByName<T extends { name: string }>(what: string, items: T[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const i of items) {
    if (m.has(i.name)) throw invalidFeatures(`${what} '${i.name}' is defined twice`);
    m.set(i.name, i);
  }
  return m;
}

const SQL_TYPE: Record<Field["dtype"], string> = {
  int64: "BIGINT",
  int32: "INTEGER",
  float64: "DOUBLE",
  float32: "FLOAT",
  string: "VARCHAR",
  bool: "BOOLEAN",
  timestamp: "TIMESTAMP",
};

/**
 * The columns each file source must have, from every view that reads it: join keys,
 * timestamps and features, with SQL types. What the Athena adapter declares in Glue.
 */
export function declaredSourceColumns(
  views: ResolvedView[],
): Array<{ source: FileSource; columns: SqlColumn[] }> {
  const bySource = new Map<string, { source: FileSource; columns: Map<string, string> }>();
  for (const rv of views) {
    let entry = bySource.get(rv.source.name);
    if (!entry) {
      entry = { source: rv.source, columns: new Map() };
      bySource.set(rv.source.name, entry);
    }
    for (const k of rv.joinKeys) entry.columns.set(k.name, SQL_TYPE[k.valueType]);
    entry.columns.set(rv.source.timestampField, "TIMESTAMP");
    if (rv.source.createdTimestampColumn) entry.columns.set(rv.source.createdTimestampColumn, "TIMESTAMP");
    for (const f of rv.view.schema) entry.columns.set(f.name, SQL_TYPE[f.dtype]);
  }
  return [...bySource.values()].map((e) => ({
    source: e.source,
    columns: [...e.columns].map(([name, type]) => ({ name, type })),
  }));
}

/** Output column name of a feature: Feast's `view__feature` with full names, else the bare name. */
export function outputName(view: string, feature: string, fullNames: boolean): string {
  return fullNames ? `${view}__${feature}` : feature;
}

/** Output names for selections; duplicate bare names are an error that suggests full names. */
export function outputNames(sels: ViewSelection[], fullNames: boolean): string[][] {
  const seen = new Set<string>();
  return sels.map((s) =>
    s.features.map((f) => {
      const n = outputName(s.view.view.name, f.name, fullNames);
      if (seen.has(n))
        throw invalidFeatures(
          `feature name '${n}' is requested from two views; set full_feature_names to tell them apart`,
        );
      seen.add(n);
      return n;
    }),
  );
}
