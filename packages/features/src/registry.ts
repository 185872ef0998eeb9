import type { AuditLog } from "@keel/audit";
import { type Clock, canonicalJson, currentPrincipal, digest, pad } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import { FeatureCatalog } from "./catalog";
import { allDefinitions, type FeatureRepo } from "./definitions";
import { FeaturesError } from "./errors";

const PK = "FEATURES";
const HEAD = { pk: PK, sk: "HEAD" };
const versionKey = (v: number) => ({ pk: PK, sk: `V#${pad(v, 10)}` });
const watermarkKey = (view: string) => ({ pk: PK, sk: `WM#${view}` });

export interface DefinitionChange {
  kind: string;
  name: string;
  change: "added" | "changed" | "removed";
  /** Top-level fields that differ, for "changed". */
  fields?: string[];
}

export interface ApplyResult {
  version: number;
  changed: boolean;
  diff: DefinitionChange[];
}

export interface RegistrySnapshot {
  version: number;
  catalog: FeatureCatalog;
  updatedAt?: number;
}

/**
 * Feature definitions registered in the MetadataStore, versioned. Each apply that changes
 * something writes an immutable version item and then moves a head pointer, both
 * conditionally, so two concurrent applies cannot both win the same version number and the
 * loser changes nothing. Reads are cached in process and re-validated against the head
 * every `cacheMs`, so serving does not pay a metadata read per request.
 */
export class FeatureRegistry {
  private cache?: { snap: RegistrySnapshot; at: number };

  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly cacheMs = 5_000,
  ) {}

  /** The registered definitions (empty catalog at version 0 before the first apply). */
  async current(opts: { fresh?: boolean } = {}): Promise<RegistrySnapshot> {
    const now = this.clock.now();
    if (!opts.fresh && this.cache && now - this.cache.at < this.cacheMs) return this.cache.snap;
    const head = await this.store.get(HEAD);
    const version = Number(head?.version ?? 0);
    if (this.cache && this.cache.snap.version === version) {
      this.cache.at = now;
      return this.cache.snap;
    }
    const snap: RegistrySnapshot = {
      version,
      catalog: new FeatureCatalog(head ? JSON.parse(String(head.repo)) : {}),
      updatedAt: head ? Number(head.updatedAt) : undefined,
    };
    this.cache = { snap, at: now };
    return snap;
  }

  /**
   * Validates and registers a repository. Returns the diff against the registered version;
   * an unchanged repository writes nothing. With `dryRun` only the diff is computed.
   * Throws INVALID_PARAMETER_VALUE for bad definitions and ABORTED when another apply won.
   */
  async apply(input: unknown, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
    const next = new FeatureCatalog(input);
    const cur = await this.current({ fresh: true });
    const diff = diffRepos(cur.catalog.repo, next.repo);
    if (diff.length === 0 || opts.dryRun) return { version: cur.version, changed: false, diff };
    const version = cur.version + 1;
    const time = this.clock.now();
    const repoJson = canonicalJson(next.repo);
    const principal = currentPrincipal();
    try {
      await this.store.put(
        { ...versionKey(version), version, repo: repoJson, diff, principal, time },
        { condition: { exists: false } },
      );
      await this.store.put(
        { ...HEAD, version, repo: repoJson, updatedAt: time },
        { condition: cur.version === 0 ? { exists: false } : { path: "version", eq: cur.version } },
      );
    } catch (e) {
      if (isConditionFailed(e))
        throw new FeaturesError("ABORTED", `another apply registered version ${version} first; re-run apply`);
      throw e;
    }
    await this.audit.append({
      action: "features.apply",
      resource: `features:registry/version:${version}`,
      state: { version, digest: digest(next.repo), diff },
    });
    this.cache = { snap: { version, catalog: next, updatedAt: time }, at: this.clock.now() };
    return { version, changed: true, diff };
  }

  /** The definitions as registered at a given version. */
  async version(version: number): Promise<FeatureCatalog> {
    const item = await this.store.get(versionKey(version));
    if (!item) throw new FeaturesError("RESOURCE_DOES_NOT_EXIST", `no registry version ${version}`);
    return new FeatureCatalog(JSON.parse(String(item.repo)));
  }

  /** Materialization watermark of a view (ms since the epoch), 0 if never materialized. */
  async watermark(view: string): Promise<number> {
    const item = await this.store.get(watermarkKey(view));
    return Number(item?.watermark ?? 0);
  }

  /**
   * Moves a view's watermark forward to `to`. Conditional, so a slower concurrent run never
   * moves it back; returns false when the stored watermark is already at or past `to`.
   */
  async advanceWatermark(view: string, to: number): Promise<boolean> {
    try {
      await this.store.put(
        { ...watermarkKey(view), watermark: to, updatedAt: this.clock.now() },
        { condition: { or: [{ exists: false }, { path: "watermark", lt: to }] } },
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }
}

type Named = { kind: string; name: string } & Record<string, unknown>;

/** Definition-level diff: added, removed, and changed with the fields that differ. */
export function diffRepos(before: FeatureRepo, after: FeatureRepo): DefinitionChange[] {
  const index = (r: FeatureRepo) =>
    new Map((allDefinitions(r) as unknown as Named[]).map((d) => [`${d.kind}/${d.name}`, d]));
  const a = index(before);
  const b = index(after);
  const out: DefinitionChange[] = [];
  for (const [k, d] of b) {
    const old = a.get(k);
    if (!old) out.push({ kind: d.kind, name: d.name, change: "added" });
    else {
      const keys = new Set([...Object.keys(old), ...Object.keys(d)]);
      const fields = [...keys].filter((f) => canonicalJson(old[f]) !== canonicalJson(d[f])).sort();
      if (fields.length) out.push({ kind: d.kind, name: d.name, change: "changed", fields });
    }
  }
  for (const [k, d] of a) if (!b.has(k)) out.push({ kind: d.kind, name: d.name, change: "removed" });
  return out.sort((x, y) => `${x.kind}/${x.name}`.localeCompare(`${y.kind}/${y.name}`));
}
