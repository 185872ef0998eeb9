import { realpathSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";
import type { KeelConfig } from "@keel/core";
import { invalidFeatures } from "./errors";

/**
 * Where the feature store's API may write and read files on the server's behalf. A caller
 * never picks a path on the server's disk: outputs go under `<offline root>/outputs` by a
 * relative name, and input files are read only under the server's own data roots.
 */
export interface ApiPathRoots {
  /** Outputs root: a local directory or an s3:// prefix. */
  outputs: string;
  /** Local directories whose files a caller may name as input (the data dir, the offline root). */
  readable: string[];
}

/** The offline store's root: KEEL_OFFLINE_ROOT, or `<data dir>/offline`. */
export const offlineRootOf = (config: Pick<KeelConfig, "core" | "offline">): string =>
  config.offline.root ?? join(config.core.dataDir, "offline");

export function apiPathRoots(config: Pick<KeelConfig, "core" | "offline">): ApiPathRoots {
  const offline = offlineRootOf(config);
  const outputs = offline.startsWith("s3://")
    ? `${offline.replace(/\/+$/, "")}/outputs`
    : join(offline, "outputs");
  const readable = [config.core.dataDir, offline]
    .filter((r) => !r.startsWith("s3://"))
    .map((r) => resolve(r));
  return { outputs, readable };
}

/** Segments that cannot start with a dot (so no `..`, no hidden files), joined by single slashes. */
const RELATIVE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*\/?$/;

/** Resolves a caller's output name under the outputs root; anything else is a 400 naming `field`. */
export function outputPath(name: string, roots: ApiPathRoots, field: string): string {
  if (name.length > 512 || !RELATIVE_NAME.test(name))
    throw invalidFeatures(
      `${field} must be a relative name under the server's outputs (letters, digits, . _ - and /; no '..'), ` +
        `e.g. training-sets/run-1.parquet; got '${name.slice(0, 200)}'`,
    );
  if (roots.outputs.startsWith("s3://")) return `${roots.outputs}/${name}`;
  const path = join(roots.outputs, name);
  if (!path.startsWith(resolve(roots.outputs) + sep))
    throw invalidFeatures(`${field} leaves the outputs root`);
  return path;
}

/**
 * Checks a caller's input path: an s3:// URI without `.`/`..` segments (read with the
 * server's own rights in AWS, or mapped under the offline root locally), or a local file
 * under one of the readable roots (symbolic links resolved). Returns the path to read.
 */
export function readablePath(path: string, roots: ApiPathRoots, field: string): string {
  if (path.startsWith("s3://")) {
    const segments = path.slice("s3://".length).split("/");
    if (segments.some((s) => s === ".." || s === ".") || path.includes("\\") || path.includes("\0"))
      throw invalidFeatures(`${field} must not contain '.' or '..' segments; got '${path.slice(0, 200)}'`);
    return path;
  }
  if (path.includes("://") || path.includes("\0") || !isAbsolute(path))
    throw invalidFeatures(
      `${field} must be an absolute path on the server or an s3:// URI; got '${path.slice(0, 200)}'`,
    );
  const real = realOrResolved(path);
  const inside = roots.readable.some((r) => {
    const root = realOrResolved(r);
    return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
  });
  if (!inside)
    throw invalidFeatures(
      `${field} must be under the server's data dir or offline root (${roots.readable.join(", ")}); got '${path.slice(0, 200)}'`,
    );
  return path;
}

function realOrResolved(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}
