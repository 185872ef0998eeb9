import { Readable } from "node:stream";
import { type ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { AuditEvent } from "@keel/audit";
import {
  AUDIT_PK,
  EXPORT_CURSOR_KEY,
  exportAuditEvents,
  exportKey,
  S3AuditSink,
  StoreAuditLog,
  verifyChain,
} from "@keel/audit";
import { type HttpRequest, HttpResponse } from "@smithy/protocol-http";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";

/**
 * A real S3Client whose HTTP layer is replaced (AWS itself is the only thing mocked): the
 * requests it would send are recorded as the SDK serialized them, and answered 200.
 */
function recordingS3() {
  const requests: HttpRequest[] = [];
  const client = new S3Client({
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    requestHandler: {
      handle: async (req: HttpRequest) => {
        requests.push(req);
        return { response: new HttpResponse({ statusCode: 200, headers: {}, body: Readable.from([]) }) };
      },
    },
  });
  return { client, requests };
}

const bodyOf = async (req: HttpRequest) => {
  const b = req.body as unknown;
  if (typeof b === "string") return b;
  if (b instanceof Uint8Array) return Buffer.from(b).toString("utf8");
  const chunks: Buffer[] = [];
  for await (const c of b as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
};

describe("audit export to an Object Lock bucket", () => {
  let db: Awaited<ReturnType<typeof freshMetadataStore>>;
  let log: StoreAuditLog;
  beforeAll(async () => {
    db = await freshMetadataStore();
    log = new StoreAuditLog(db.store);
    for (let i = 0; i < 7; i++) await log.append({ action: "test.event", resource: `r:${i}`, state: { i } });
  });
  afterAll(async () => {
    await db?.close();
  });

  it("puts each new event once, with a SHA-256 checksum, and advances a cursor", async () => {
    const s3 = recordingS3();
    const sink = new S3AuditSink(s3.client, "keel-audit-bucket", "audit/");
    const first = await exportAuditEvents({ audit: log, store: db.store, sink, concurrency: 3 });
    expect(first).toEqual({ exported: 7, lastSeq: 7 });
    expect(s3.requests).toHaveLength(7);
    const paths = s3.requests.map((r) => r.path).sort();
    expect(paths[0]).toBe(`/audit/${exportKey(1)}`);
    for (const r of s3.requests) {
      expect(r.method).toBe("PUT");
      expect(r.hostname).toBe("keel-audit-bucket.s3.us-east-1.amazonaws.com");
      expect(r.headers["x-amz-checksum-sha256"]).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(r.headers["content-type"]).toBe("application/json");
    }
    // The exported documents are the chain itself: they verify on their own.
    const docs: AuditEvent[] = [];
    for (const r of [...s3.requests].sort((a, b) => (a.path < b.path ? -1 : 1)))
      docs.push(JSON.parse(await bodyOf(r)));
    expect(await verifyChain(docs)).toMatchObject({ ok: true, count: 7 });
    expect((await db.store.get(EXPORT_CURSOR_KEY))?.lastSeq).toBe(7);

    const again = await exportAuditEvents({ audit: log, store: db.store, sink });
    expect(again).toEqual({ exported: 0, lastSeq: 7 });
    expect(s3.requests).toHaveLength(7);

    await log.append({ action: "test.event", resource: "r:late", state: {} });
    expect(await exportAuditEvents({ audit: log, store: db.store, sink })).toEqual({
      exported: 1,
      lastSeq: 8,
    });
    expect(s3.requests.at(-1)?.path).toBe(`/audit/${exportKey(8)}`);
  });

  it("builds PutObject commands the SDK accepts for Object Lock buckets", async () => {
    const sent: Array<PutObjectCommand | ListObjectsV2Command> = [];
    const sink = new S3AuditSink({ send: async (c) => void sent.push(c) }, "b");
    await sink.put(exportKey(12), "{}");
    expect(sent[0]).toBeInstanceOf(PutObjectCommand);
    expect(sent[0].input).toEqual({
      Bucket: "b",
      Key: "audit/000000000012.json",
      Body: "{}",
      ContentType: "application/json",
      ChecksumAlgorithm: "SHA256",
    });
  });

  it("never moves the cursor backwards when two exporters run at once", async () => {
    const fresh = await freshMetadataStore();
    try {
      const l = new StoreAuditLog(fresh.store);
      for (let i = 0; i < 40; i++) await l.append({ action: "a", resource: "r", state: i });
      const written = new Set<string>();
      const sink = { put: async (key: string) => void written.add(key) };
      await Promise.all([
        exportAuditEvents({ audit: l, store: fresh.store, sink, concurrency: 4 }),
        exportAuditEvents({ audit: l, store: fresh.store, sink, concurrency: 5 }),
      ]);
      // Whichever stopped early, a further run completes the export.
      await exportAuditEvents({ audit: l, store: fresh.store, sink });
      expect(written.size).toBe(40);
      expect((await fresh.store.get(EXPORT_CURSOR_KEY))?.lastSeq).toBe(40);
    } finally {
      await fresh.close();
    }
  });

  it("the stream-triggered Lambda exports the audit inserts of a stream batch and nothing else", async () => {
    const items = await db.store.queryAll({ pk: AUDIT_PK, prefix: "E#" });
    const sent: PutObjectCommand[] = [];
    const send = vi.spyOn(S3Client.prototype, "send").mockImplementation(async (c: unknown) => {
      sent.push(c as PutObjectCommand);
      return {};
    });
    vi.stubEnv("KEEL_AUDIT_EXPORT_BUCKET", "keel-audit-export");
    try {
      const { handler } = await import("../../functions/audit-export");
      const record = (it: Record<string, unknown>, eventName = "INSERT") => ({
        eventName,
        dynamodb: {
          Keys: marshall({ pk: it.pk, sk: it.sk }),
          NewImage: marshall(it, { removeUndefinedValues: true }),
        },
      });
      const r = await handler({
        Records: [
          record(items[0]),
          record(items[1]),
          record({ pk: "RM#x", sk: "MODEL" }),
          record(items[2], "MODIFY"),
        ],
      });
      // The overwritten audit item is counted (and alarmed on), not exported again.
      expect(r).toEqual({ exported: 2, changed: 1 });
      expect(sent.map((c) => c.input.Key)).toEqual(["audit/000000000001.json", "audit/000000000002.json"]);
      expect(sent[0].input).toMatchObject({ Bucket: "keel-audit-export", ChecksumAlgorithm: "SHA256" });
      expect(JSON.parse(String(sent[1].input.Body))).toMatchObject({
        seq: 2,
        action: "test.event",
        state: { i: 1 },
      });
    } finally {
      send.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});
