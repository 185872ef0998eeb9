import { ModelServer, ServingError } from "@keel/serving";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlpReference } from "../../bench/serving-onnx-mlp";
import { rowsRequest, smallConfig, specFor, tempRepository } from "./fixtures";

const repo = tempRepository();
const server = new ModelServer({ repository: repo.root, intraOpNumThreads: 1 });
const row = (i: number) => [i, 2 * i, 1, -i];

beforeAll(async () => {
  // Waits long for a full preferred batch, so what forms a batch is decided by arrivals alone.
  repo.add(
    "preferred",
    smallConfig(
      "preferred",
      "dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 300000 }",
    ),
    [1],
  );
  repo.add(
    "bounded",
    smallConfig(
      "bounded",
      "dynamic_batching { preferred_batch_size: [ 8 ] max_queue_delay_microseconds: 200000 default_queue_policy { max_queue_size: 2 } }",
    ),
    [1],
  );
  repo.add("eager", smallConfig("eager", "dynamic_batching { max_queue_delay_microseconds: 0 }"), [1]);
  repo.add("unbatched", smallConfig("unbatched"), [1]);
  await server.loadRepository();
});

afterAll(async () => {
  await server.close();
  repo.remove();
});

const batches = (model: string) => server.metrics.batchSize.snapshot({ model, version: "1" });

describe("dynamic batching", () => {
  it("forms one batch of the largest preferred size and answers each request with its own rows, in order", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => server.infer("preferred", "1", rowsRequest([row(i)], `q${i}`))),
    );
    answers.forEach((a, i) => {
      expect(a.id).toBe(`q${i}`);
      expect(a.outputs[0].shape).toEqual([1, 2]);
      expect(a.outputs[0].data[0]).toBeCloseTo(mlpReference(specFor(1), row(i))[0], 4);
    });
    expect(batches("preferred")).toMatchObject({ count: 1, sum: 8 });
  });

  it("merges multi-row requests without splitting any of them", async () => {
    const [a, b] = await Promise.all([
      server.infer("preferred", "1", rowsRequest([row(1), row(2), row(3)])),
      server.infer("preferred", "1", rowsRequest([row(4), row(5), row(6), row(7), row(8)])),
    ]);
    expect(a.outputs[0].shape).toEqual([3, 2]);
    expect(b.outputs[0].shape).toEqual([5, 2]);
    expect(b.outputs[0].data[8]).toBeCloseTo(mlpReference(specFor(1), row(8))[0], 4);
    expect(batches("preferred")).toMatchObject({ count: 2, sum: 16 });
  });

  it("refuses requests beyond the queue bound with TEMPORARILY_UNAVAILABLE (503)", async () => {
    const waiting = [
      server.infer("bounded", "1", rowsRequest([row(1)])),
      server.infer("bounded", "1", rowsRequest([row(2)])),
    ];
    const refused = await server.infer("bounded", "1", rowsRequest([row(3)])).catch((e) => e);
    expect(refused).toBeInstanceOf(ServingError);
    expect(refused.code).toBe("TEMPORARILY_UNAVAILABLE");
    expect(refused.retryable).toBe(true);
    expect(refused.message).toMatch(/queue is full \(2 requests waiting\)/);
    // The waiting ones run once the delay passes without a full preferred batch.
    expect((await Promise.all(waiting)).map((r) => r.outputs[0].shape[0])).toEqual([1, 1]);
    expect(server.metrics.requestFailure.get({ model: "bounded", version: "1", reason: "queue_full" })).toBe(
      1,
    );
  });

  it("runs a lone request at once when the delay is 0, and never batches a model without dynamic_batching", async () => {
    await server.infer("eager", "1", rowsRequest([row(1)]));
    expect(batches("eager")).toMatchObject({ count: 1, sum: 1 });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => server.infer("unbatched", "1", rowsRequest([row(i)]))),
    );
    expect(batches("unbatched")).toMatchObject({ count: 6, sum: 6 });
  });
});
