import { MemoryScoringQueue } from "@keel/serving";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsRequest, smallConfig, tempRepository } from "./fixtures";
import { startServing } from "./harness";

const repo = tempRepository();
const QUEUE = 2;
let h: Awaited<ReturnType<typeof startServing>>;
/** Every value the scheduler's queue-depth gauge took, so the bound is checked at every step. */
const depths: number[] = [];

beforeAll(async () => {
  // Waits 2 s for a full batch of 8, so concurrent requests pile up against a queue of 2.
  repo.add(
    "bounded",
    smallConfig(
      "bounded",
      `dynamic_batching { preferred_batch_size: [ 8 ] max_queue_delay_microseconds: 2000000 default_queue_policy { max_queue_size: ${QUEUE} } }`,
    ),
    [1],
  );
  h = await startServing(repo.root, { queue: new MemoryScoringQueue(30_000, 3), consume: false });
  const gauge = h.module.service.metrics.queueDepth;
  const set = gauge.set.bind(gauge);
  gauge.set = (labels, value) => {
    depths.push(value);
    set(labels, value);
  };
  const created = await h.call("POST", "/api/v1/deployments", {
    name: "bounded-live",
    model: "bounded",
    version: "1",
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await h.close();
  repo.remove();
});

const post = (path: string, body: unknown) =>
  fetch(`${h.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("backpressure", () => {
  it("refuses inference beyond the batch queue with 503 and Retry-After, directly and through a deployment", async () => {
    for (const path of ["/v2/models/bounded/infer", "/v2/models/bounded-live/infer"]) {
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => post(path, rowsRequest([[i, 1, 2, 3]]))),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
      const refused = answers.filter((r) => r.status === 503);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const r of refused) {
        expect(r.headers.get("retry-after")).toBe("1");
        expect(((await r.json()) as { error: string }).error).toMatch(/queue is full/);
      }
    }
    expect(depths.length).toBeGreaterThan(0);
    expect(Math.max(...depths)).toBeLessThanOrEqual(QUEUE);
  });

  it("refuses asynchronous scoring beyond the scoring queue with 503 and Retry-After, and marks the id failed", async () => {
    const statuses: number[] = [];
    let refusedId = "";
    for (let i = 0; i < 6; i++) {
      const r = await post("/api/v1/deployments/bounded-live/infer-async", {
        ...rowsRequest([[i, 1, 2, 3]]),
        id: `a${i}`,
      });
      statuses.push(r.status);
      if (r.status === 503) {
        expect(r.headers.get("retry-after")).toBe("1");
        refusedId ||= `a${i}`;
      }
    }
    expect(statuses).toEqual([202, 202, 202, 503, 503, 503]);
    expect((await h.call("GET", `/api/v1/scoring/${refusedId}`)).json).toMatchObject({ status: "failed" });
  });
});
