import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { type ArtifactStore, MULTIPART_LIMITS } from "@keel/artifacts";
import { isKeelError } from "@keel/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** What each adapter's test file provides: a fresh, empty store and how to dispose of it. */
export type ArtifactStoreFactory = () => Promise<{ store: ArtifactStore; close: () => Promise<void> }>;

const MiB = 1024 * 1024;

const withCode = (code: string) => (e: unknown) => isKeelError(e) && e.code === code;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A stream of `total` bytes in uneven chunks, so adapters cannot rely on chunk boundaries. */
function chunkedStream(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      let at = 0;
      let size = 1;
      while (at < data.length) {
        yield data.subarray(at, at + size);
        at += size;
        size = (size * 7 + 13) % (300 * 1024);
      }
    })(),
  );
}

/** The ArtifactStore contract (packages/artifacts/src/port.ts), run against every adapter. */
export function artifactStoreSuite(name: string, make: ArtifactStoreFactory) {
  describe(`ArtifactStore conformance: ${name}`, () => {
    const withStore = async (fn: (s: ArtifactStore) => Promise<void>) => {
      const { store, close } = await make();
      try {
        await fn(store);
      } finally {
        await close();
      }
    };

    it("round-trips bytes and streams, including an empty object and a multi-MB stream", () =>
      withStore(async (s) => {
        await s.put("a/bytes.bin", Buffer.from("hello"));
        expect((await s.getBytes("a/bytes.bin")).toString()).toBe("hello");
        expect((await readAll(await s.get("a/bytes.bin"))).toString()).toBe("hello");

        await s.put("a/empty", new Uint8Array(0));
        expect((await s.getBytes("a/empty")).length).toBe(0);
        await s.put("a/empty-stream", Readable.from([]));
        expect((await s.getBytes("a/empty-stream")).length).toBe(0);

        // Bigger than one S3 part (8 MiB), so the S3 adapter goes through its multipart path.
        const big = randomBytes(12 * MiB + 12345);
        await s.put("a/big.bin", chunkedStream(big), { contentType: "application/octet-stream" });
        expect((await s.getBytes("a/big.bin")).equals(big)).toBe(true);
        expect((await readAll(await s.get("a/big.bin"))).equals(big)).toBe(true);
        expect(await s.exists("a/big.bin")).toBe(true);
      }));

    it("lists direct children with dirs and sizes, sorted, relative to the root", () =>
      withStore(async (s) => {
        await s.put("run/artifacts/model/MLmodel", Buffer.from("m"));
        await s.put("run/artifacts/model/data/weights.bin", Buffer.from("wwww"));
        await s.put("run/artifacts/metrics.json", Buffer.from("{}"));
        await s.put("run/artifacts/b.txt", Buffer.from("bb"));
        await s.put("run/other", Buffer.from("o"));
        for (let i = 0; i < 7; i++) await s.put(`run/artifacts/many/f${i}`, Buffer.from([i]));

        expect(await s.list("run/artifacts")).toEqual([
          { path: "run/artifacts/b.txt", isDir: false, size: 2 },
          { path: "run/artifacts/many", isDir: true },
          { path: "run/artifacts/metrics.json", isDir: false, size: 2 },
          { path: "run/artifacts/model", isDir: true },
        ]);
        // Trailing and leading slashes name the same directory.
        expect(await s.list("/run/artifacts/model/")).toEqual([
          { path: "run/artifacts/model/MLmodel", isDir: false, size: 1 },
          { path: "run/artifacts/model/data", isDir: true },
        ]);
        expect(await s.list("")).toEqual([{ path: "run", isDir: true }]);
        expect((await s.list("run/artifacts/many")).map((e) => e.path)).toEqual(
          Array.from({ length: 7 }, (_, i) => `run/artifacts/many/f${i}`),
        );
        expect(await s.list("run/nothing-here")).toEqual([]);
        expect(await s.list("run/other")).toEqual([]);
      }));

    it("absent objects are RESOURCE_DOES_NOT_EXIST; exists is false for absent objects and dirs", () =>
      withStore(async (s) => {
        await s.put("d/x", Buffer.from("x"));
        await expect(s.getBytes("nope")).rejects.toSatisfy(withCode("RESOURCE_DOES_NOT_EXIST"));
        await expect(s.get("d/nope")).rejects.toSatisfy(withCode("RESOURCE_DOES_NOT_EXIST"));
        await expect(s.get("d")).rejects.toSatisfy(withCode("RESOURCE_DOES_NOT_EXIST"));
        expect(await s.exists("nope")).toBe(false);
        expect(await s.exists("d")).toBe(false);
        expect(await s.exists("d/x")).toBe(true);
      }));

    it("rejects traversal, absolute-looking, empty and control-character paths before touching the backend", () =>
      withStore(async (s) => {
        const bad = ["../x", "a/../../x", "a/./b", "a//b", "", "/", "a\\b", "a\u0000b", "a\nb", "\uD800x"];
        for (const p of bad) {
          await expect(s.put(p, Buffer.from("x")), p).rejects.toSatisfy(withCode("INVALID_PARAMETER_VALUE"));
          await expect(s.getBytes(p), p).rejects.toSatisfy(withCode("INVALID_PARAMETER_VALUE"));
        }
        await expect(s.list("../")).rejects.toSatisfy(withCode("INVALID_PARAMETER_VALUE"));
        await expect(s.delete("a/..")).rejects.toSatisfy(withCode("INVALID_PARAMETER_VALUE"));
        await expect(s.createMultipartUpload("../up")).rejects.toSatisfy(withCode("INVALID_PARAMETER_VALUE"));
        await expect(s.put("x".repeat(256), Buffer.from("x"))).rejects.toSatisfy(
          withCode("INVALID_PARAMETER_VALUE"),
        );
        expect(await s.list("")).toEqual([]);
      }));

    it("deletes an object, or a prefix and everything under it, and nothing beside it", () =>
      withStore(async (s) => {
        await s.put("p/keep.txt", Buffer.from("k"));
        await s.put("p/dir/a", Buffer.from("a"));
        await s.put("p/dir/sub/b", Buffer.from("b"));
        await s.put("p/dir-sibling", Buffer.from("s"));
        // More entries than one listing page of the S3 test server, so deletion must paginate.
        for (let i = 0; i < 8; i++) await s.put(`p/dir/many/${i}`, Buffer.from([i]));
        await s.delete("p/dir");
        expect(await s.list("p")).toEqual([
          { path: "p/dir-sibling", isDir: false, size: 1 },
          { path: "p/keep.txt", isDir: false, size: 1 },
        ]);
        await s.delete("p/keep.txt");
        expect(await s.exists("p/keep.txt")).toBe(false);
        await s.delete("p/never-existed");
        expect((await s.list("p")).map((e) => e.path)).toEqual(["p/dir-sibling"]);
      }));

    it("multipart: parts out of order, a retried part, completion in any listed order", () =>
      withStore(async (s) => {
        const p1 = randomBytes(MULTIPART_LIMITS.minPartSize);
        const p2 = randomBytes(MULTIPART_LIMITS.minPartSize + 17);
        const p3 = Buffer.from("tail");
        const { uploadId } = await s.createMultipartUpload("mp/model.bin");
        const e3 = await s.uploadPart("mp/model.bin", uploadId, 3, p3);
        const stale = await s.uploadPart(
          "mp/model.bin",
          uploadId,
          1,
          randomBytes(MULTIPART_LIMITS.minPartSize),
        );
        const e2 = await s.uploadPart("mp/model.bin", uploadId, 2, p2);
        const e1 = await s.uploadPart("mp/model.bin", uploadId, 1, p1);
        expect(e1.etag).not.toBe(stale.etag);
        expect(await s.exists("mp/model.bin")).toBe(false);

        // The first attempt's etag no longer names part 1: refused, nothing written.
        await expect(s.completeMultipartUpload("mp/model.bin", uploadId, [stale, e2, e3])).rejects.toSatisfy(
          withCode("INVALID_PARAMETER_VALUE"),
        );
        expect(await s.exists("mp/model.bin")).toBe(false);

        await s.completeMultipartUpload("mp/model.bin", uploadId, [e3, e1, e2]);
        expect((await s.getBytes("mp/model.bin")).equals(Buffer.concat([p1, p2, p3]))).toBe(true);
        await expect(s.uploadPart("mp/model.bin", uploadId, 4, p3)).rejects.toSatisfy(
          withCode("RESOURCE_DOES_NOT_EXIST"),
        );
      }));

    it("multipart: bad part lists are refused and abort discards the upload", () =>
      withStore(async (s) => {
        const { uploadId } = await s.createMultipartUpload("mp/x");
        const a = await s.uploadPart("mp/x", uploadId, 1, Buffer.from("small"));
        const b = await s.uploadPart("mp/x", uploadId, 2, Buffer.from("last"));
        await expect(s.uploadPart("mp/x", uploadId, 0, Buffer.from("x"))).rejects.toSatisfy(
          withCode("INVALID_PARAMETER_VALUE"),
        );
        await expect(s.uploadPart("mp/x", uploadId, 10001, Buffer.from("x"))).rejects.toSatisfy(
          withCode("INVALID_PARAMETER_VALUE"),
        );
        // A part other than the last under 5 MiB, an empty list, a duplicate, an unknown part.
        for (const parts of [[a, b], [], [b, b], [{ partNumber: 9, etag: a.etag }]]) {
          await expect(s.completeMultipartUpload("mp/x", uploadId, parts)).rejects.toSatisfy(
            withCode("INVALID_PARAMETER_VALUE"),
          );
        }
        expect(await s.exists("mp/x")).toBe(false);

        await s.abortMultipartUpload("mp/x", uploadId);
        await expect(s.completeMultipartUpload("mp/x", uploadId, [b])).rejects.toSatisfy(
          withCode("RESOURCE_DOES_NOT_EXIST"),
        );
        await expect(s.abortMultipartUpload("mp/x", uploadId)).rejects.toSatisfy(
          withCode("RESOURCE_DOES_NOT_EXIST"),
        );
        expect(await s.exists("mp/x")).toBe(false);
        expect(await s.list("mp")).toEqual([]);

        // A single small part is a valid upload: the last part has no minimum.
        const one = await s.createMultipartUpload("mp/one");
        const only = await s.uploadPart("mp/one", one.uploadId, 1, Buffer.from("only"));
        await s.completeMultipartUpload("mp/one", one.uploadId, [only]);
        expect((await s.getBytes("mp/one")).toString()).toBe("only");
      }));

    it("an overwrite is atomic: readers see the old object until the new one is whole", () =>
      withStore(async (s) => {
        const old = Buffer.alloc(3 * MiB, 1);
        await s.put("atomic/obj", old);

        // A slow writer: the first chunk is sent, then the writer stalls until released.
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const fresh = Buffer.alloc(3 * MiB, 2);
        const slow = Readable.from(
          (async function* () {
            yield fresh.subarray(0, MiB);
            await gate;
            yield fresh.subarray(MiB);
          })(),
        );
        const writing = s.put("atomic/obj", slow);
        for (let i = 0; i < 5; i++) expect((await s.getBytes("atomic/obj")).equals(old)).toBe(true);
        release();
        await writing;
        expect((await s.getBytes("atomic/obj")).equals(fresh)).toBe(true);

        // Concurrent overwrites and reads: every read is one whole version.
        const versions = [3, 4, 5, 6].map((v) => Buffer.alloc(2 * MiB, v));
        const reads: Buffer[] = [];
        await Promise.all([
          ...versions.map((v) => s.put("atomic/obj", v)),
          ...Array.from({ length: 8 }, async () => reads.push(await s.getBytes("atomic/obj"))),
        ]);
        for (const r of reads) {
          expect([fresh, ...versions].some((v) => v.equals(r))).toBe(true);
        }
      }));

    it("a stream that fails mid-way writes nothing and leaves the previous object", () =>
      withStore(async (s) => {
        await s.put("fail/obj", Buffer.from("previous"));
        const failing = Readable.from(
          (async function* () {
            yield Buffer.alloc(9 * MiB, 7);
            throw new Error("client went away");
          })(),
        );
        await expect(s.put("fail/obj", failing)).rejects.toThrow("client went away");
        expect((await s.getBytes("fail/obj")).toString()).toBe("previous");
        expect(await s.list("fail")).toEqual([{ path: "fail/obj", isDir: false, size: 8 }]);
      }));

    it("any valid segment names round-trip through put, list, get and delete (fast-check)", () =>
      withStore(async (s) => {
        const segment = fc
          .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
          .filter(
            (x) =>
              x !== "." &&
              x !== ".." &&
              !/[/\\\u0000-\u001f\u007f]/.test(x) &&
              Buffer.byteLength(x) <= 255 &&
              x !== ".multipart",
          );
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(fc.array(segment, { minLength: 1, maxLength: 3 }), {
              minLength: 1,
              maxLength: 4,
              selector: (p) => p.join("/"),
            }),
            async (paths) => {
              // Each run gets its own folder, so earlier runs' files never collide with these.
              const base = `fc${run++}`;
              const full = paths
                .map((p) => `${base}/${p.join("/")}`)
                // A path that is a prefix directory of another cannot also be a file on a filesystem.
                .filter((p, _i, all) => !all.some((q) => q.startsWith(`${p}/`)));
              for (const [i, p] of full.entries()) await s.put(p, Buffer.from(`v${i}`));
              for (const [i, p] of full.entries()) {
                expect((await s.getBytes(p)).toString()).toBe(`v${i}`);
                const parent = p.slice(0, p.lastIndexOf("/"));
                expect(await s.list(parent)).toContainEqual({ path: p, isDir: false, size: `v${i}`.length });
              }
              await s.delete(base);
              expect(await s.list(base)).toEqual([]);
            },
          ),
          { numRuns: 25 },
        );
      }));
  });
}
