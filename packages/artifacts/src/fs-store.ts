import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, type Dirent } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { ArtifactError, artifactNotFound, normalizePath, uploadNotFound } from "./errors";
import { checkPartNumber, orderedParts, partMissing, partTooSmall, unquoteEtag } from "./multipart";
import { type ArtifactInfo, type ArtifactStore, MULTIPART_LIMITS, type UploadedPart } from "./port";

/** Temporary files and multipart uploads live here, beside the objects but never listed. */
const RESERVED = ".multipart";
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * ArtifactStore on a local directory. Every write goes to a temporary file that is renamed
 * into place, so a reader sees the old object or the whole new one; a reader that has opened
 * a file keeps reading the version it opened.
 */
export class FsArtifactStore implements ArtifactStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Absolute path of an object; the reserved folder is not addressable. */
  private abs(p: string, allowRoot = false): string {
    const rel = normalizePath(p, { allowRoot });
    if (rel === RESERVED || rel.startsWith(`${RESERVED}/`)) {
      throw new ArtifactError("INVALID_PARAMETER_VALUE", `artifact path '${p}': '${RESERVED}' is reserved`);
    }
    return join(this.root, rel);
  }

  uri(path: string): string {
    return pathToFileURL(this.abs(path, true)).href;
  }

  async put(path: string, body: Uint8Array | Readable): Promise<void> {
    const target = this.abs(path);
    await this.writeAtomically(path, target, async (tmp) => {
      if (body instanceof Uint8Array) await writeFile(tmp, body);
      else await pipeline(body, createWriteStream(tmp));
    });
  }

  async get(path: string): Promise<Readable> {
    const abs = this.abs(path);
    // Opening first (rather than stat then open) pins the version being read: a concurrent
    // overwrite renames a new file over the name and this handle keeps the old one.
    const handle = await open(abs, "r").catch((e) => {
      throw this.readError(e, path);
    });
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw artifactNotFound(path);
    }
    return handle.createReadStream();
  }

  async getBytes(path: string): Promise<Buffer> {
    return readFile(this.abs(path)).catch((e) => {
      throw this.readError(e, path);
    });
  }

  async exists(path: string): Promise<boolean> {
    const abs = this.abs(path);
    try {
      return (await stat(abs)).isFile();
    } catch (e) {
      if (["ENOENT", "ENOTDIR"].includes(errno(e) ?? "")) return false;
      throw e;
    }
  }

  async list(prefix: string): Promise<ArtifactInfo[]> {
    const dir = this.abs(prefix, true);
    const rel = normalizePath(prefix, { allowRoot: true });
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (["ENOENT", "ENOTDIR"].includes(errno(e) ?? "")) return [];
      throw e;
    }
    const listed = await Promise.all(
      entries.map(async (e): Promise<ArtifactInfo | undefined> => {
        if (rel === "" && e.name === RESERVED) return undefined;
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) return { path, isDir: true };
        if (!e.isFile()) return undefined;
        // The file may be deleted between readdir and stat; it is then simply not listed.
        const size = await stat(join(dir, e.name)).then(
          (st) => st.size,
          () => undefined,
        );
        return size === undefined ? undefined : { path, isDir: false, size };
      }),
    );
    const out = listed.filter((e): e is ArtifactInfo => e !== undefined);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    await rm(this.abs(path), { recursive: true, force: true });
  }

  async createMultipartUpload(path: string): Promise<{ uploadId: string }> {
    const target = normalizePath(path);
    this.abs(target);
    const uploadId = randomUUID();
    const dir = join(this.root, RESERVED, uploadId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "target"), target);
    return { uploadId };
  }

  async uploadPart(
    path: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<UploadedPart> {
    checkPartNumber(partNumber);
    const dir = await this.uploadDir(path, uploadId);
    const etag = createHash("md5").update(body).digest("hex");
    // Written aside and renamed, so a retried part replaces the earlier one whole.
    const tmp = join(dir, `tmp-${randomUUID()}`);
    try {
      await writeFile(tmp, body);
      await rename(tmp, join(dir, `part-${partNumber}`));
    } catch (e) {
      await rm(tmp, { force: true });
      if (errno(e) === "ENOENT") throw uploadNotFound(uploadId);
      throw e;
    }
    return { partNumber, etag };
  }

  async completeMultipartUpload(path: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const sorted = orderedParts(uploadId, parts);
    const dir = await this.uploadDir(path, uploadId);
    const files = sorted.map((p) => join(dir, `part-${p.partNumber}`));
    for (let i = 0; i < files.length; i++) {
      const size = await stat(files[i]).then(
        (s) => s.size,
        () => undefined,
      );
      if (size === undefined) throw partMissing(uploadId, sorted[i].partNumber);
      if (i < files.length - 1 && size < MULTIPART_LIMITS.minPartSize)
        throw partTooSmall(uploadId, sorted[i].partNumber);
    }
    // Each part's md5 is checked while it is copied; a mismatch (a stale etag after a retry)
    // fails before the rename, so nothing is written.
    await this.writeAtomically(path, this.abs(path), async (tmp) => {
      const out = createWriteStream(tmp);
      // One error listener for the whole copy (a pipeline per part onto the same stream would
      // add listeners per part); a write error surfaces at the next drain or at end.
      let writeError: Error | undefined;
      out.on("error", (e) => {
        writeError = e;
      });
      try {
        for (let i = 0; i < files.length; i++) {
          const hash = createHash("md5");
          const handle = await open(files[i], "r");
          for await (const chunk of handle.createReadStream()) {
            hash.update(chunk);
            if (!out.write(chunk)) await once(out, "drain");
            if (writeError) throw writeError;
          }
          if (hash.digest("hex") !== unquoteEtag(sorted[i].etag))
            throw partMissing(uploadId, sorted[i].partNumber);
        }
      } finally {
        await new Promise<void>((r) => out.end(r));
      }
      if (writeError) throw writeError;
    });
    await rm(dir, { recursive: true, force: true });
  }

  async abortMultipartUpload(path: string, uploadId: string): Promise<void> {
    const dir = await this.uploadDir(path, uploadId);
    await rm(dir, { recursive: true, force: true });
  }

  /** The folder of a live upload for path; unknown ids (and ids that could escape the root) are not found. */
  private async uploadDir(path: string, uploadId: string): Promise<string> {
    const target = normalizePath(path);
    if (!UPLOAD_ID.test(uploadId)) throw uploadNotFound(uploadId);
    const dir = join(this.root, RESERVED, uploadId);
    const recorded = await readFile(join(dir, "target"), "utf8").catch(() => undefined);
    if (recorded === undefined) throw uploadNotFound(uploadId);
    if (recorded !== target) {
      throw new ArtifactError(
        "INVALID_PARAMETER_VALUE",
        `multipart upload '${uploadId}' is for another path`,
      );
    }
    return dir;
  }

  /** Runs `write(tmp)` then renames tmp over target; on any failure tmp is removed and target untouched. */
  private async writeAtomically(
    path: string,
    target: string,
    write: (tmp: string) => Promise<void>,
  ): Promise<void> {
    const tmp = join(this.root, RESERVED, `tmp-${randomUUID()}`);
    try {
      await mkdir(dirname(tmp), { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      await write(tmp);
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      if (["EISDIR", "ENOTDIR", "EEXIST"].includes(errno(e) ?? "")) {
        throw new ArtifactError(
          "INVALID_PARAMETER_VALUE",
          `artifact path '${path}' conflicts with an existing directory or file`,
          undefined,
          { cause: e },
        );
      }
      throw e;
    }
  }

  private readError(e: unknown, path: string): unknown {
    return ["ENOENT", "ENOTDIR", "EISDIR"].includes(errno(e) ?? "") ? artifactNotFound(path) : e;
  }
}
