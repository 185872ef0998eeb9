import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { ArtifactError, normalizePath } from "./errors";
import type { ArtifactInfo, ArtifactStore } from "./port";

const UPLOADS = ".multipart";

/**
 * ArtifactStore on a local directory. Writes go to a temporary file and are renamed into
 * place, so a reader sees either the old object or the whole new one.
 */
export class FsArtifactStore implements ArtifactStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  private abs(p: string, allowRoot = false): string {
    return join(this.root, normalizePath(p, { allowRoot }));
  }

  uri(path: string): string {
    return pathToFileURL(this.abs(path, true)).href;
  }

  async put(path: string, body: Uint8Array | Readable): Promise<void> {
    const target = this.abs(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(this.root, UPLOADS, `tmp-${randomUUID()}`);
    await mkdir(dirname(tmp), { recursive: true });
    try {
      if (body instanceof Uint8Array) await writeFile(tmp, body);
      else await pipeline(body, createWriteStream(tmp));
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code === "EISDIR" || (e as NodeJS.ErrnoException).code === "ENOTDIR") {
        throw new ArtifactError("INVALID_PARAMETER_VALUE", `artifact path '${path}' conflicts with a directory`);
      }
      throw e;
    }
  }

  async get(path: string): Promise<Readable> {
    const abs = this.abs(path);
    await this.assertFile(abs, path);
    return createReadStream(abs);
  }

  async getBytes(path: string): Promise<Buffer> {
    const abs = this.abs(path);
    await this.assertFile(abs, path);
    return readFile(abs);
  }

  async exists(path: string): Promise<boolean> {
    try {
      return (await stat(this.abs(path))).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<ArtifactInfo[]> {
    const rel = normalizePath(prefix, { allowRoot: true });
    const dir = join(this.root, rel);
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    const out: ArtifactInfo[] = [];
    for (const e of entries) {
      if (rel === "" && e.name === UPLOADS) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) out.push({ path, isDir: true });
      else if (e.isFile()) out.push({ path, isDir: false, size: (await stat(join(dir, e.name))).size });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    await rm(this.abs(path), { recursive: true, force: true });
  }

  async createMultipartUpload(path: string): Promise<{ uploadId: string }> {
    normalizePath(path);
    const uploadId = randomUUID();
    await mkdir(join(this.root, UPLOADS, uploadId), { recursive: true });
    await writeFile(join(this.root, UPLOADS, uploadId, "target"), normalizePath(path));
    return { uploadId };
  }

  async uploadPart(path: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<{ etag: string }> {
    const dir = await this.uploadDir(path, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
      throw new ArtifactError("INVALID_PARAMETER_VALUE", `part number must be 1..10000, got ${partNumber}`);
    }
    const etag = createHash("md5").update(body).digest("hex");
    await writeFile(join(dir, `part-${partNumber}-${etag}`), body);
    return { etag };
  }

  async completeMultipartUpload(
    path: string,
    uploadId: string,
    parts: Array<{ partNumber: number; etag: string }>,
  ): Promise<void> {
    const dir = await this.uploadDir(path, uploadId);
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const files = sorted.map((p) => join(dir, `part-${p.partNumber}-${p.etag}`));
    for (const f of files) {
      try {
        await stat(f);
      } catch {
        throw new ArtifactError("INVALID_PARAMETER_VALUE", `multipart upload ${uploadId}: a listed part was not uploaded`);
      }
    }
    const streams = async function* () {
      for (const f of files) yield* createReadStream(f);
    };
    await this.put(path, Readable.from(streams()));
    await rm(dir, { recursive: true, force: true });
  }

  async abortMultipartUpload(path: string, uploadId: string): Promise<void> {
    const dir = await this.uploadDir(path, uploadId);
    await rm(dir, { recursive: true, force: true });
  }

  private async uploadDir(path: string, uploadId: string): Promise<string> {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new ArtifactError("INVALID_PARAMETER_VALUE", "invalid upload id");
    const dir = join(this.root, UPLOADS, uploadId);
    let target: string;
    try {
      target = await readFile(join(dir, "target"), "utf8");
    } catch {
      throw new ArtifactError("RESOURCE_DOES_NOT_EXIST", `no multipart upload ${uploadId}`);
    }
    if (target !== normalizePath(path)) {
      throw new ArtifactError("INVALID_PARAMETER_VALUE", `multipart upload ${uploadId} is for another path`);
    }
    return dir;
  }

  private async assertFile(abs: string, path: string) {
    try {
      if ((await stat(abs)).isFile()) return;
    } catch {
      // fall through
    }
    throw new ArtifactError("RESOURCE_DOES_NOT_EXIST", `artifact '${path}' does not exist`);
  }
}
