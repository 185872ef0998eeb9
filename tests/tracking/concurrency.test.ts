import { KeelClient } from "@keel/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * 32 writers log to one run at once, through log-metric and log-batch, with params and tags in
 * between: no point is lost, histories come back ordered, the latest value is the greatest
 * (step, timestamp) written, and every param and tag lands.
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let keel: KeelClient;

beforeAll(async () => {
  p = await startTestPlatform();
  keel = new KeelClient({ url: p.url });
});
afterAll(async () => {
  await p?.close();
});

it("32 concurrent writers to one run lose nothing", async () => {
  const exp = await keel.tracking.createExperiment("concurrency");
  const run = await keel.tracking.createRun({ experiment_id: exp });
  const runId = run.info.run_id;
  const WRITERS = 32;
  const STEPS = 6;

  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let s = 0; s < STEPS; s++) {
        const step = s * WRITERS + w;
        if (w % 2 === 0) {
          await keel.tracking.logMetric(runId, "shared", step, { step, timestamp: 1000 + step });
        } else {
          await keel.tracking.logBatch(runId, {
            metrics: [
              { key: "shared", value: step, step, timestamp: 1000 + step },
              { key: `own${w}`, value: s, step: s, timestamp: 1000 + s },
            ],
            tags: { [`writer${w}_${s}`]: "x" },
          });
        }
      }
      await keel.tracking.logParam(runId, `p${w}`, w);
    }),
  );

  const history = await keel.tracking.metricHistory(runId, "shared", 97);
  expect(history.map((m) => m.step)).toEqual(Array.from({ length: WRITERS * STEPS }, (_, i) => i));
  expect(history.every((m) => m.value === m.step && m.timestamp === 1000 + m.step)).toBe(true);

  const got = await keel.tracking.getRun(runId);
  const last = WRITERS * STEPS - 1;
  expect(got.data.metrics.find((m) => m.key === "shared")).toEqual({
    key: "shared",
    value: last,
    step: last,
    timestamp: 1000 + last,
  });
  expect(got.data.params).toHaveLength(WRITERS);
  expect(got.data.tags.filter((t) => t.key.startsWith("writer"))).toHaveLength((WRITERS / 2) * STEPS);
  for (let w = 1; w < WRITERS; w += 2) {
    expect(got.data.metrics.find((m) => m.key === `own${w}`)?.step).toBe(STEPS - 1);
    expect((await keel.tracking.metricHistory(runId, `own${w}`)).map((m) => m.step)).toEqual(
      Array.from({ length: STEPS }, (_, i) => i),
    );
  }
});

it("concurrent creates of one experiment name: exactly one wins", async () => {
  const results = await Promise.allSettled(
    Array.from({ length: 16 }, () => keel.tracking.createExperiment("race")),
  );
  const won = results.filter((r) => r.status === "fulfilled");
  expect(won).toHaveLength(1);
  for (const r of results) {
    if (r.status === "rejected")
      expect((r.reason as { errorCode: string }).errorCode).toBe("RESOURCE_ALREADY_EXISTS");
  }
  expect((await keel.tracking.getExperimentByName("race"))?.experiment_id).toBe(
    (won[0] as PromiseFulfilledResult<string>).value,
  );
});
