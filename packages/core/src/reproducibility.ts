import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * What made a run, recorded so it can be rebuilt and compared: the project's git commit and
 * whether the tree was dirty, the npm lockfile's hash, container image digests, the content
 * hash of every input dataset, the parameters and the seeds among them.
 */
export interface ReproducibilityRecord {
  version: 1;
  capturedAt: number;
  git: { commit: string | null; dirty: boolean | null };
  lockfile: { path: string; sha256: string } | null;
  /** Per step with an image: the image as written and its digest when the reference pins one. */
  images: Record<string, { image: string; digest: string | null }>;
  /** Input datasets by parameter name: content hash of the file (or of a folder's files). */
  inputs: Record<string, { uri: string; sha256: string | null; bytes: number | null; note?: string }>;
  params: Record<string, unknown>;
  seeds: Record<string, number>;
}

/** Tag keys a run carries for its reproducibility record (the full record is `reproducibility.json`). */
export const REPRO_TAG = {
  commit: "keel.repro.git_commit",
  dirty: "keel.repro.git_dirty",
  lockfile: "keel.repro.lockfile_sha256",
  inputs: "keel.repro.inputs_sha256",
  seed: "keel.repro.seed",
  record: "keel.repro.record",
} as const;
export const REPRODUCIBILITY_ARTIFACT = "reproducibility.json";

/** git's answer, or null outside a repository (or without git, as in a Lambda). */
function git(cwd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) =>
    execFile("git", args, { cwd, encoding: "utf8" }, (err, stdout) => resolve(err ? null : stdout.trim())),
  );
}

/** The lockfile of the project holding `dir`: the nearest package-lock.json upwards. */
function findLockfile(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const f = join(d, "package-lock.json");
    if (existsSync(f)) return f;
    if (dirname(d) === d) return undefined;
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** A file's hash, or for a folder the hash of its files' relative paths and hashes. */
async function hashPath(path: string): Promise<{ sha256: string; bytes: number }> {
  const st = statSync(path);
  if (st.isFile()) return { sha256: await sha256File(path), bytes: st.size };
  const files = (readdirSync(path, { recursive: true }) as string[])
    .filter((f) => statSync(join(path, f)).isFile())
    .sort();
  const h = createHash("sha256");
  let bytes = 0;
  for (const f of files) {
    h.update(`${f}\0${await sha256File(join(path, f))}\n`);
    bytes += statSync(join(path, f)).size;
  }
  return { sha256: h.digest("hex"), bytes };
}

const DIGEST = /@(sha256:[0-9a-f]{64})$/;
const SEED = /seed/i;

/** The dataset inputs among params: string values naming an existing file, or s3:// URIs. */
export function datasetParams(params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== "string" || v.length === 0) continue;
    const path = v.startsWith("file://") ? v.slice("file://".length) : v;
    if (v.startsWith("s3://") || (existsSync(path) && statSync(path).isFile())) out[k] = v;
  }
  return out;
}

/**
 * Captures the record for a run started from `cwd` (the project's folder). Input URIs are
 * hashed by content; s3:// URIs are mapped to local paths by `mapS3` where one is given
 * (the local platform), otherwise recorded without a hash.
 */
export async function captureReproducibility(opts: {
  cwd: string;
  params: Record<string, unknown>;
  inputs?: Record<string, string>;
  images?: Record<string, string>;
  mapS3?: (uri: string) => string | undefined;
  now?: number;
}): Promise<ReproducibilityRecord> {
  const commit = await git(opts.cwd, ["rev-parse", "HEAD"]);
  const status =
    commit === null ? null : await git(opts.cwd, ["status", "--porcelain", "--untracked-files=no"]);
  const lock = findLockfile(opts.cwd);
  const inputs: ReproducibilityRecord["inputs"] = {};
  for (const [name, uri] of Object.entries(opts.inputs ?? datasetParams(opts.params))) {
    const local = uri.startsWith("s3://") ? opts.mapS3?.(uri) : uri.replace(/^file:\/\//, "");
    if (!local || !existsSync(local)) {
      inputs[name] = { uri, sha256: null, bytes: null, note: local ? "missing" : "not readable here" };
      continue;
    }
    inputs[name] = { uri, ...(await hashPath(local)) };
  }
  const seeds: Record<string, number> = {};
  for (const [k, v] of Object.entries(opts.params)) if (SEED.test(k) && typeof v === "number") seeds[k] = v;
  const images: ReproducibilityRecord["images"] = {};
  for (const [step, image] of Object.entries(opts.images ?? {}))
    images[step] = { image, digest: DIGEST.exec(image)?.[1] ?? null };
  return {
    version: 1,
    capturedAt: opts.now ?? Date.now(),
    git: { commit, dirty: status === null ? null : status.length > 0 },
    lockfile: lock ? { path: lock, sha256: await sha256File(lock) } : null,
    images,
    inputs,
    params: opts.params,
    seeds,
  };
}

/** The record as run tags (MLflow tag values are strings of at most 5000 characters). */
export function reproducibilityTags(r: ReproducibilityRecord, recordUri?: string): Record<string, string> {
  const inputs = createHash("sha256");
  for (const k of Object.keys(r.inputs).sort()) inputs.update(`${k}=${r.inputs[k].sha256}\n`);
  const tags: Record<string, string> = {
    [REPRO_TAG.commit]: r.git.commit ?? "unknown",
    [REPRO_TAG.dirty]: String(r.git.dirty ?? "unknown"),
    [REPRO_TAG.lockfile]: r.lockfile?.sha256 ?? "none",
    [REPRO_TAG.inputs]: inputs.digest("hex"),
  };
  const seeds = Object.entries(r.seeds);
  if (seeds.length) tags[REPRO_TAG.seed] = seeds.map(([k, v]) => `${k}=${v}`).join(",");
  if (recordUri) tags[REPRO_TAG.record] = recordUri;
  return tags;
}

/** Differences between two records that explain why outputs could differ, one sentence each. */
export function reproducibilityDifferences(a: ReproducibilityRecord, b: ReproducibilityRecord): string[] {
  const out: string[] = [];
  if (a.git.commit !== b.git.commit) out.push(`git commit changed: ${a.git.commit} -> ${b.git.commit}`);
  if (a.git.dirty !== b.git.dirty)
    out.push(
      `uncommitted changes: ${a.git.dirty ? "there were" : "there were none"}, now ${b.git.dirty ? "there are" : "there are none"}`,
    );
  if (a.lockfile?.sha256 !== b.lockfile?.sha256)
    out.push(`lockfile hash changed: ${a.lockfile?.sha256 ?? "none"} -> ${b.lockfile?.sha256 ?? "none"}`);
  for (const [name, was] of Object.entries(a.inputs)) {
    const now = b.inputs[name];
    if (!now) out.push(`input ${name} (${was.uri}) is no longer an input`);
    else if (was.sha256 !== now.sha256)
      out.push(
        `input ${name} (${now.uri}) hash no longer matches: recorded ${was.sha256 ?? "none"}, now ${now.sha256 ?? now.note ?? "none"}`,
      );
  }
  for (const [step, img] of Object.entries(a.images)) {
    const now = b.images[step];
    if (now && (img.digest !== now.digest || img.image !== now.image))
      out.push(`image of step ${step} changed: ${img.digest ?? img.image} -> ${now.digest ?? now.image}`);
  }
  return out;
}
