import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  type AbortMultipartUploadCommandInput,
  type CompleteMultipartUploadCommandInput,
  CreateBucketCommand,
  type CreateMultipartUploadCommandInput,
  type DeleteObjectsCommandInput,
  type ListObjectsV2CommandInput,
  type PutObjectCommandInput,
  type UploadPartCommandInput,
} from "@aws-sdk/client-s3";
import { createArtifactStore, parseS3Root, S3ArtifactStore } from "@keel/artifacts";
import { isKeelError } from "@keel/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeS3, startFakeS3 } from "../helpers/s3-server";

/**
 * What the S3 adapter sends, checked against the SDK's own input types: the S3 test server
 * stands in for AWS, so the request shapes are what must match what AWS expects.
 */
interface Sent {
  command: string;
  input: Record<string, unknown>;
}

const MiB = 1024 * 1024;
let s3: FakeS3;
let store: S3ArtifactStore;
let sent: Sent[] = [];

const inputsOf = <T>(command: string) => sent.filter((c) => c.command === command).map((c) => c.input as T);

beforeAll(async () => {
  s3 = await startFakeS3();
  store = new S3ArtifactStore({
    root: "s3://shapes-bucket/keel",
    endpoint: s3.endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    partSize: 5 * MiB,
    partConcurrency: 2,
  });
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName as string, input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: "initialize", name: "recordCommands" },
  );
  await store.client.send(new CreateBucketCommand({ Bucket: "shapes-bucket" }));
});
afterAll(async () => {
  store.client.destroy();
  await s3.close();
});
beforeEach(() => {
  sent = [];
});

describe("S3ArtifactStore request shapes", () => {
  it("puts bytes as one PutObject under the root prefix with the content type", async () => {
    await store.put("e/r/artifacts/a.json", Buffer.from("{}"), { contentType: "application/json" });
    const [put] = inputsOf<PutObjectCommandInput>("PutObjectCommand");
    expect(put).toMatchObject({
      Bucket: "shapes-bucket",
      Key: "keel/e/r/artifacts/a.json",
      ContentType: "application/json",
    });
    expect(s3.buckets.get("shapes-bucket")?.get("keel/e/r/artifacts/a.json")?.contentType).toBe(
      "application/json",
    );
  });

  it("streams a large body as ascending >= 5 MiB parts and completes them in order", async () => {
    const data = randomBytes(17 * MiB);
    await store.put("big/model.onnx", Readable.from([data.subarray(0, 3 * MiB), data.subarray(3 * MiB)]));
    const [create] = inputsOf<CreateMultipartUploadCommandInput>("CreateMultipartUploadCommand");
    expect(create).toMatchObject({ Bucket: "shapes-bucket", Key: "keel/big/model.onnx" });
    const parts = inputsOf<UploadPartCommandInput>("UploadPartCommand");
    expect(parts.map((p) => p.PartNumber).sort()).toEqual([1, 2, 3, 4]);
    for (const p of parts) {
      expect(p).toMatchObject({ Bucket: "shapes-bucket", Key: "keel/big/model.onnx" });
      expect(typeof p.UploadId).toBe("string");
      if (p.PartNumber !== 4) expect((p.Body as Uint8Array).byteLength).toBe(5 * MiB);
    }
    const [complete] = inputsOf<CompleteMultipartUploadCommandInput>("CompleteMultipartUploadCommand");
    expect(complete.MultipartUpload?.Parts?.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4]);
    expect(complete.MultipartUpload?.Parts?.every((p) => /^".+"$/.test(p.ETag ?? ""))).toBe(true);
    expect((await store.getBytes("big/model.onnx")).equals(data)).toBe(true);
  });

  it("aborts the multipart upload when the stream fails after some parts were sent", async () => {
    const failing = Readable.from(
      (async function* () {
        yield randomBytes(11 * MiB);
        throw new Error("disk read failed");
      })(),
    );
    await expect(store.put("broken/file", failing)).rejects.toThrow("disk read failed");
    const [abort] = inputsOf<AbortMultipartUploadCommandInput>("AbortMultipartUploadCommand");
    expect(abort).toMatchObject({ Bucket: "shapes-bucket", Key: "keel/broken/file" });
    expect(s3.uploads.size).toBe(0);
    expect(await store.exists("broken/file")).toBe(false);
  });

  it("lists with Delimiter '/' under the prefix and deletes a big prefix in batches of at most 1000", async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `bulk/d${i % 3}/f${i}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, Buffer.from("x"))));
    }
    expect((await store.list("bulk")).map((e) => e.path)).toEqual(["bulk/d0", "bulk/d1", "bulk/d2"]);
    const [list] = inputsOf<ListObjectsV2CommandInput>("ListObjectsV2Command");
    expect(list).toMatchObject({ Bucket: "shapes-bucket", Prefix: "keel/bulk/", Delimiter: "/" });

    sent = [];
    await store.delete("bulk");
    const deletes = inputsOf<DeleteObjectsCommandInput>("DeleteObjectsCommand");
    expect(deletes.length).toBe(2);
    for (const d of deletes) {
      expect(d.Bucket).toBe("shapes-bucket");
      expect(d.Delete?.Quiet).toBe(true);
      expect(d.Delete?.Objects?.length).toBeLessThanOrEqual(1000);
    }
    expect(deletes.flatMap((d) => d.Delete?.Objects?.map((o) => o.Key))).toContain("keel/bulk");
    expect(await store.list("bulk")).toEqual([]);
    expect([...s3.buckets.get("shapes-bucket")!.keys()].some((k) => k.startsWith("keel/bulk"))).toBe(false);
  });

  it("names objects with s3:// URIs", () => {
    expect(store.uri("e/r/artifacts/m.bin")).toBe("s3://shapes-bucket/keel/e/r/artifacts/m.bin");
    expect(store.uri("")).toBe("s3://shapes-bucket/keel");
  });
});

describe("choosing and configuring the S3 adapter", () => {
  it("createArtifactStore builds the S3 adapter for s3:// roots with the given region", async () => {
    const s = createArtifactStore("s3://bucket-a/some/prefix", { region: "eu-west-1" });
    expect(s).toBeInstanceOf(S3ArtifactStore);
    expect(await (s as S3ArtifactStore).client.config.region()).toBe("eu-west-1");
    expect(s.uri("x")).toBe("s3://bucket-a/some/prefix/x");
  });

  it("uses path-style and only required checksums against a custom endpoint, SDK defaults on AWS", async () => {
    const custom = new S3ArtifactStore({ root: "s3://bucket-b", endpoint: "http://127.0.0.1:1" });
    expect(custom.client.config.forcePathStyle).toBe(true);
    expect(await custom.client.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
    expect(await custom.client.config.responseChecksumValidation()).toBe("WHEN_REQUIRED");
    const aws = new S3ArtifactStore({ root: "s3://bucket-b" });
    expect(aws.client.config.forcePathStyle).toBeFalsy();
    expect(await aws.client.config.requestChecksumCalculation()).toBe("WHEN_SUPPORTED");
  });

  it("rejects malformed roots", () => {
    expect(parseS3Root("s3://my-bucket/a/b/")).toEqual({ bucket: "my-bucket", prefix: "a/b" });
    expect(parseS3Root("s3://my-bucket")).toEqual({ bucket: "my-bucket", prefix: "" });
    for (const bad of ["s3://", "s3://UPPER/x", "s3://b/../x", "s3://x"]) {
      expect(() => parseS3Root(bad), bad).toThrow();
      try {
        parseS3Root(bad);
      } catch (e) {
        expect(isKeelError(e) && e.code).toBe("INVALID_PARAMETER_VALUE");
      }
    }
  });
});
