import { createHash } from "node:crypto";
import type { ArtifactStore } from "@keel/artifacts";
import type { MetadataStore } from "@keel/metadata";

const MLFLOW_ARTIFACTS = "mlflow-artifacts:/";

/**
 * The ArtifactStore path a version's storage location names: `mlflow-artifacts:/<path>` or a
 * URI under the store's root (`s3://bucket/prefix/<path>`, `file:///root/<path>`). Undefined
 * for a location outside the store (its bytes cannot be pinned or locked by Keel).
 */
export function storePathOf(location: string, store: ArtifactStore): string | undefined {
  const trim = (p: string) => p.replace(/^\/+|\/+$/g, "");
  if (location.startsWith(MLFLOW_ARTIFACTS))
    return trim(location.slice(MLFLOW_ARTIFACTS.length)) || undefined;
  const root = store.uri("").replace(/\/+$/, "");
  if (location.startsWith(`${root}/`)) return trim(location.slice(root.length + 1)) || undefined;
  return undefined;
}

async function sha256(store: ArtifactStore, path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of await store.get(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/**
 * SHA-256 of every file under `prefix` (or of `prefix` itself when it names a file), keyed by
 * the path relative to `prefix` (the file's name when `prefix` is a file), in path order.
 */
export async function digestTree(store: ArtifactStore, prefix: string): Promise<Record<string, string>> {
  if (await store.exists(prefix))
    return { [prefix.slice(prefix.lastIndexOf("/") + 1)]: await sha256(store, prefix) };
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await store.list(dir)) {
      if (e.isDir) await walk(e.path);
      else out[e.path.slice(prefix.length + 1)] = await sha256(store, e.path);
    }
  };
  await walk(prefix);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Paths (relative) whose digest differs between `pinned` and `now`, including added and removed files. */
export function changedFiles(pinned: Record<string, string>, now: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(pinned), ...Object.keys(now)]);
  return [...keys].filter((k) => pinned[k] !== now[k]).sort();
}

const MAX_LOCK_PATH = 1024;
const lockPk = (path: string) => `ARTLOCK#${path.split("/")[0]}`;

/**
 * The artifact prefixes of registered model versions, which no artifact API may write or
 * delete under. One item per prefix, partitioned by its first segment; a path is locked when
 * it or an ancestor is a locked prefix, and a delete also when it would remove a locked prefix
 * below it. Locks are never lifted: bytes once registered stay as they were (evidence).
 */
export class ArtifactLocks {
  constructor(private readonly store: MetadataStore) {}

  async lock(prefix: string, owner: { model: string; version: number }): Promise<void> {
    await this.store.put({ pk: lockPk(prefix), sk: prefix, ...owner });
  }

  /** Why `path` may not be changed (undefined when it may); `subtree` also checks below it (deletes). */
  async lockedBy(path: string, subtree: boolean): Promise<string | undefined> {
    const p = path.replace(/^\/+|\/+$/g, "");
    if (!p || p.length > MAX_LOCK_PATH) return undefined;
    const parts = p.split("/");
    const ancestors = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    const hits = await this.store.batchGet(ancestors.map((sk) => ({ pk: lockPk(p), sk })));
    let hit = hits[0];
    if (!hit && subtree) {
      const below = await this.store.query({ pk: lockPk(p), prefix: `${p}/`, limit: 1, consistent: true });
      hit = below.items[0];
    }
    if (!hit) return undefined;
    return (
      `'${p}' holds the files of registered model '${String(hit.model)}' version ${String(hit.version)} ` +
      `(${hit.sk}), which are immutable: register a new version instead`
    );
  }
}
