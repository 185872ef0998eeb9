import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small S3-compatible server for tests: path-style REST over real HTTP, in memory, with
 * exactly the operations the S3 ArtifactStore adapter uses (CreateBucket, PutObject,
 * GetObject, HeadObject, ListObjectsV2 with delimiter and continuation tokens, DeleteObjects,
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload), and S3's
 * rules for them (1000 keys per DeleteObjects, ascending parts, 5 MiB minimum part size,
 * NoSuchKey/NoSuchUpload/InvalidPart errors, UTF-8 byte key order). Signatures are not checked.
 *
 * Chosen over s3rver 3.7.1, which corrupts streamed uploads and fails paginated listings on
 * Node 20. `maxKeys` caps every listing page so that pagination is exercised with few objects.
 */
export interface FakeS3Options {
  /** Largest page ListObjectsV2 returns, whatever the request asks (S3: 1000). */
  maxKeys?: number;
}

interface StoredObject {
  body: Buffer;
  etag: string;
  contentType?: string;
}

interface Upload {
  bucket: string;
  key: string;
  contentType?: string;
  parts: Map<number, StoredObject>;
}

export interface FakeS3 {
  endpoint: string;
  /** Buckets and their objects, to look at what the adapter wrote. */
  buckets: Map<string, Map<string, StoredObject>>;
  uploads: Map<string, Upload>;
  /** Every request seen, as `METHOD path?query`, for asserting on the wire traffic. */
  requests: string[];
  close(): Promise<void>;
}

const MIN_PART = 5 * 1024 * 1024;

export async function startFakeS3(opts: FakeS3Options = {}): Promise<FakeS3> {
  const maxKeys = opts.maxKeys ?? 1000;
  const buckets = new Map<string, Map<string, StoredObject>>();
  const uploads = new Map<string, Upload>();
  const requests: string[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, errorXml("InternalError", String(e))));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://s3.local");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const [, bucketName, ...rest] = url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    const q = url.searchParams;
    const body = await readBody(req);
    if (req.headers["content-encoding"]?.includes("aws-chunked")) {
      return send(
        res,
        400,
        errorXml("NotImplemented", "aws-chunked bodies are not supported by this test server"),
      );
    }
    if (!key && req.method === "PUT") {
      if (!buckets.has(bucketName)) buckets.set(bucketName, new Map());
      return send(res, 200, "");
    }
    const bucket = buckets.get(bucketName);
    if (!bucket) return send(res, 404, errorXml("NoSuchBucket", `no bucket ${bucketName}`));

    if (!key) {
      if (req.method === "GET" && q.get("list-type") === "2")
        return send(res, 200, listXml(bucketName, bucket, q));
      if (req.method === "POST" && q.has("delete")) return deleteObjects(res, bucket, body.toString("utf8"));
      return send(res, 400, errorXml("NotImplemented", `${req.method} on a bucket`));
    }

    if (req.method === "POST" && q.has("uploads")) {
      const uploadId = randomUUID().replaceAll("-", "");
      uploads.set(uploadId, {
        bucket: bucketName,
        key,
        contentType: header(req, "content-type"),
        parts: new Map(),
      });
      return send(
        res,
        200,
        xml(
          `<InitiateMultipartUploadResult><Bucket>${esc(bucketName)}</Bucket><Key>${esc(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
        ),
      );
    }
    const uploadId = q.get("uploadId");
    if (uploadId !== null) {
      const upload = uploads.get(uploadId);
      if (!upload || upload.bucket !== bucketName || upload.key !== key) {
        return send(res, 404, errorXml("NoSuchUpload", "The specified upload does not exist."));
      }
      if (req.method === "PUT") {
        const n = Number(q.get("partNumber"));
        if (!Number.isInteger(n) || n < 1 || n > 10000)
          return send(res, 400, errorXml("InvalidArgument", "partNumber"));
        const part = { body, etag: md5(body) };
        upload.parts.set(n, part);
        return send(res, 200, "", { ETag: `"${part.etag}"` });
      }
      if (req.method === "DELETE") {
        uploads.delete(uploadId);
        return send(res, 204, "");
      }
      if (req.method === "POST") return complete(res, bucket, uploadId, upload, body.toString("utf8"));
    }

    const obj = bucket.get(key);
    switch (req.method) {
      case "PUT": {
        bucket.set(key, { body, etag: md5(body), contentType: header(req, "content-type") });
        return send(res, 200, "", { ETag: `"${md5(body)}"` });
      }
      case "GET":
        if (!obj) return send(res, 404, errorXml("NoSuchKey", "The specified key does not exist."));
        return send(res, 200, obj.body, objectHeaders(obj));
      case "HEAD":
        if (!obj) return send(res, 404, "");
        res.writeHead(200, objectHeaders(obj));
        return res.end();
      case "DELETE":
        bucket.delete(key);
        return send(res, 204, "");
    }
    return send(res, 400, errorXml("NotImplemented", `${req.method} on an object`));
  }

  function complete(
    res: ServerResponse,
    bucket: Map<string, StoredObject>,
    uploadId: string,
    upload: Upload,
    text: string,
  ) {
    const listed = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      n: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1])?.[1]),
      etag: unesc(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1])?.[1] ?? "").replace(/^"|"$/g, ""),
    }));
    if (listed.length === 0) return send(res, 400, errorXml("MalformedXML", "no parts"));
    for (let i = 1; i < listed.length; i++) {
      if (listed[i].n <= listed[i - 1].n)
        return send(res, 400, errorXml("InvalidPartOrder", "parts must be ascending"));
    }
    const bodies: Buffer[] = [];
    for (const [i, p] of listed.entries()) {
      const part = upload.parts.get(p.n);
      if (!part || part.etag !== p.etag) return send(res, 400, errorXml("InvalidPart", `part ${p.n}`));
      if (i < listed.length - 1 && part.body.length < MIN_PART) {
        return send(res, 400, errorXml("EntityTooSmall", `part ${p.n} is too small`));
      }
      bodies.push(part.body);
    }
    const etag = `${md5(Buffer.concat(listed.map((p) => Buffer.from(upload.parts.get(p.n)!.etag, "hex"))))}-${listed.length}`;
    bucket.set(upload.key, { body: Buffer.concat(bodies), etag, contentType: upload.contentType });
    uploads.delete(uploadId);
    return send(
      res,
      200,
      xml(
        `<CompleteMultipartUploadResult><Key>${esc(upload.key)}</Key><ETag>"${etag}"</ETag></CompleteMultipartUploadResult>`,
      ),
    );
  }

  function deleteObjects(res: ServerResponse, bucket: Map<string, StoredObject>, text: string) {
    const keys = [...text.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unesc(m[1]));
    if (keys.length === 0 || keys.length > 1000) {
      return send(res, 400, errorXml("MalformedXML", `DeleteObjects takes 1..1000 keys, got ${keys.length}`));
    }
    for (const k of keys) bucket.delete(k);
    const quiet = /<Quiet>true<\/Quiet>/.test(text);
    const deleted = quiet ? "" : keys.map((k) => `<Deleted><Key>${esc(k)}</Key></Deleted>`).join("");
    return send(res, 200, xml(`<DeleteResult>${deleted}</DeleteResult>`));
  }

  function listXml(bucketName: string, bucket: Map<string, StoredObject>, q: URLSearchParams): string {
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const pageSize = Math.min(Number(q.get("max-keys") ?? maxKeys), maxKeys);
    const token = q.get("continuation-token");
    const after = token === null ? undefined : Buffer.from(token, "base64url");
    const keys = [...bucket.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(utf8(a), utf8(b)));
    // Entries in key order, a common prefix standing once for all the keys under it.
    const entries: Array<{ sortKey: string; prefix?: string; key?: string }> = [];
    for (const k of keys) {
      const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const cp = k.slice(0, cut + delimiter.length);
        if (entries.at(-1)?.prefix !== cp) entries.push({ sortKey: cp, prefix: cp });
      } else entries.push({ sortKey: k, key: k });
    }
    const remaining = after ? entries.filter((e) => Buffer.compare(utf8(e.sortKey), after) > 0) : entries;
    const page = remaining.slice(0, pageSize);
    const truncated = remaining.length > page.length;
    const contents = page
      .filter((e) => e.key !== undefined)
      .map((e) => {
        const o = bucket.get(e.key!)!;
        return `<Contents><Key>${esc(e.key!)}</Key><Size>${o.body.length}</Size><ETag>"${o.etag}"</ETag><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join("");
    const prefixes = page
      .filter((e) => e.prefix !== undefined)
      .map((e) => `<CommonPrefixes><Prefix>${esc(e.prefix!)}</Prefix></CommonPrefixes>`)
      .join("");
    const next = truncated
      ? `<NextContinuationToken>${utf8(page.at(-1)!.sortKey).toString("base64url")}</NextContinuationToken>`
      : "";
    return xml(
      `<ListBucketResult><Name>${esc(bucketName)}</Name><Prefix>${esc(prefix)}</Prefix>${delimiter ? `<Delimiter>${esc(delimiter)}</Delimiter>` : ""}<KeyCount>${page.length}</KeyCount><MaxKeys>${pageSize}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${next}${contents}${prefixes}</ListBucketResult>`,
    );
  }

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    buckets,
    uploads,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function objectHeaders(o: StoredObject): Record<string, string> {
  return {
    "Content-Length": String(o.body.length),
    ETag: `"${o.etag}"`,
    "Content-Type": o.contentType ?? "binary/octet-stream",
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
) {
  const isXml = typeof body === "string" && body.startsWith("<?xml");
  res.writeHead(status, { ...(isXml ? { "Content-Type": "application/xml" } : {}), ...headers });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const header = (req: IncomingMessage, name: string) => req.headers[name] as string | undefined;
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
const utf8 = (s: string) => Buffer.from(s, "utf8");
const xml = (s: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${s}`;
const errorXml = (code: string, message: string) =>
  xml(`<Error><Code>${code}</Code><Message>${esc(message)}</Message></Error>`);
const esc = (s: string) =>
  s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
const unesc = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&amp;/g, "&");
