import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createArtifactStore, FsArtifactStore } from "@keel/artifacts";
import { isKeelError } from "@keel/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/** What only the filesystem adapter has: real directories, a reserved work folder, file:// URIs. */
let root: string;
let store: FsArtifactStore;
const invalid = (e: unknown) => isKeelError(e) && e.code === "INVALID_PARAMETER_VALUE";

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "keel-fs-store-"));
  store = new FsArtifactStore(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe("FsArtifactStore", () => {
  it("is chosen for plain paths and file:// roots and names objects with file:// URIs", () => {
    expect(createArtifactStore(root)).toBeInstanceOf(FsArtifactStore);
    const viaUri = createArtifactStore(pathToFileURL(root).href) as FsArtifactStore;
    expect(viaUri.root).toBe(root);
    expect(store.uri("e/r/model.onnx")).toBe(pathToFileURL(join(root, "e/r/model.onnx")).href);
  });

  it("refuses the reserved work folder as an artifact path", async () => {
    await expect(store.put(".multipart/x", Buffer.from("x"))).rejects.toSatisfy(invalid);
    await expect(store.delete(".multipart")).rejects.toSatisfy(invalid);
    await expect(store.list(".multipart")).rejects.toSatisfy(invalid);
  });

  it("reports a file/directory clash as INVALID_PARAMETER_VALUE and leaves no temporary file", async () => {
    await store.put("a/file", Buffer.from("f"));
    await expect(store.put("a/file/child", Buffer.from("c"))).rejects.toSatisfy(invalid);
    await expect(store.put("a", Buffer.from("over a dir"))).rejects.toSatisfy(invalid);
    expect(await readdir(join(root, ".multipart"))).toEqual([]);
    expect((await store.getBytes("a/file")).toString()).toBe("f");
  });

  it("keeps an upload bound to its path and rejects forged upload ids", async () => {
    const { uploadId } = await store.createMultipartUpload("m/x");
    await expect(store.uploadPart("m/other", uploadId, 1, Buffer.from("x"))).rejects.toSatisfy(invalid);
    await expect(store.uploadPart("m/x", "../../etc", 1, Buffer.from("x"))).rejects.toSatisfy(
      (e: unknown) => isKeelError(e) && e.code === "RESOURCE_DOES_NOT_EXIST",
    );
    await store.abortMultipartUpload("m/x", uploadId);
    expect(await readdir(join(root, ".multipart"))).toEqual([]);
  });
});
