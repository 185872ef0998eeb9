import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ArtifactStore } from "@keel/artifacts";

/** The artifact-store path of a URI the store names (`s3://bucket/prefix/x` or `file:///...`), or a plain path as is. */
export function storePath(artifacts: ArtifactStore, uri: string): string {
  const root = artifacts.uri("").replace(/\/+$/, "");
  if (uri.startsWith(`${root}/`)) return uri.slice(root.length + 1).replace(/\/+$/, "");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri))
    throw new Error(`${uri} is outside the artifact store (${root}/...): training data must be under it`);
  return uri.replace(/^\/+|\/+$/g, "");
}

/** Every object under a prefix (or the one object it names), sorted by path. */
export async function listObjects(artifacts: ArtifactStore, prefix: string): Promise<string[]> {
  if (await artifacts.exists(prefix)) return [prefix];
  const out: string[] = [];
  for (const e of await artifacts.list(prefix)) {
    if (e.isDir) out.push(...(await listObjects(artifacts, e.path)));
    else out.push(e.path);
  }
  return out.sort();
}

/** sha256 of each training data file, by its path relative to the data's prefix. */
export async function datasetDigests(artifacts: ArtifactStore, uri: string): Promise<Record<string, string>> {
  const prefix = storePath(artifacts, uri);
  const files = await listObjects(artifacts, prefix);
  if (!files.length) throw new Error(`no training data under ${uri}`);
  const out: Record<string, string> = {};
  for (const f of files) {
    const rel = f === prefix ? (f.split("/").pop() ?? f) : f.slice(prefix.length).replace(/^\/+/, "");
    out[rel] = createHash("sha256")
      .update(await artifacts.getBytes(f))
      .digest("hex");
  }
  return out;
}

/** Copies the training data into a local folder (SageMaker's /opt/ml/input/data/<channel>). */
export async function downloadTrainingData(
  artifacts: ArtifactStore,
  uri: string,
  dir: string,
): Promise<void> {
  const prefix = storePath(artifacts, uri);
  const files = await listObjects(artifacts, prefix);
  if (!files.length) throw new Error(`no training data under ${uri}`);
  for (const f of files) {
    const rel = f === prefix ? (f.split("/").pop() ?? f) : f.slice(prefix.length).replace(/^\/+/, "");
    const to = join(dir, ...rel.split("/"));
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, await artifacts.getBytes(f));
  }
}
