/**
 * Artifact throughput on this machine: MLflow artifact proxy uploads/downloads over loopback
 * HTTP on the local platform (filesystem store), directory listing latency, and the S3 adapter's
 * streamed multipart put against the S3-compatible test server.
 * Run: node --import tsx bench/artifacts.ts
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { S3ArtifactStore } from "@keel/artifacts";
import { startLocalPlatform } from "@keel/local";
import { startFakeS3 } from "../tests/helpers/s3-server";

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const RUNS = 3;
const data = randomBytes(SIZE);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (ms: number) => (SIZE / MiB / (ms / 1000)).toFixed(0);
const chunked = () =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (let at = 0; at < SIZE; at += MiB) c.enqueue(data.subarray(at, at + MiB));
      c.close();
    },
  });

const local = await startLocalPlatform({ port: 0 });
const base = `${local.url}/api/2.0/mlflow-artifacts/artifacts/0/bench/artifacts`;
const up: number[] = [];
const down: number[] = [];
for (let i = 0; i < RUNS; i++) {
  let t = performance.now();
  const put = await fetch(`${base}/blob-${i}.bin`, {
    method: "PUT",
    body: chunked(),
    duplex: "half",
  } as RequestInit);
  if (put.status !== 200) throw new Error(`upload failed: ${put.status}`);
  up.push(performance.now() - t);
  t = performance.now();
  const got = await fetch(`${base}/blob-${i}.bin`);
  let n = 0;
  for await (const c of got.body as unknown as AsyncIterable<Uint8Array>) n += c.length;
  if (n !== SIZE) throw new Error(`download returned ${n} bytes`);
  down.push(performance.now() - t);
}
console.log(`proxy PUT 64 MiB streamed: median ${median(up).toFixed(0)} ms (${mbps(median(up))} MiB/s)`);
console.log(`proxy GET 64 MiB streamed: median ${median(down).toFixed(0)} ms (${mbps(median(down))} MiB/s)`);

const store = local.platform.deps.artifacts;
for (let i = 0; i < 1000; i++) await store.put(`0/bench/artifacts/many/f${i}.txt`, Buffer.from("x"));
const lists: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  const r = await fetch(`${local.url}/api/2.0/mlflow-artifacts/artifacts?path=0/bench/artifacts/many`);
  const body = (await r.json()) as { files: unknown[] };
  if (body.files.length !== 1000) throw new Error("listing incomplete");
  lists.push(performance.now() - t);
}
console.log(`proxy list of a 1000-file directory: p50 ${median(lists).toFixed(1)} ms`);
await local.close();

const s3 = await startFakeS3();
const s3store = new S3ArtifactStore({
  root: "s3://bench/keel",
  endpoint: s3.endpoint,
  credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
});
await s3store.client.send(new CreateBucketCommand({ Bucket: "bench" }));
const s3put: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const t = performance.now();
  await s3store.put(`blob-${i}`, Readable.from([data]));
  s3put.push(performance.now() - t);
}
console.log(
  `S3 adapter streamed put 64 MiB (8 MiB parts, 4 in flight, test server): median ${median(s3put).toFixed(0)} ms (${mbps(median(s3put))} MiB/s)`,
);
s3store.client.destroy();
await s3.close();
