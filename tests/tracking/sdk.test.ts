import { isKeelApiError, KeelApiError, KeelClient } from "@keel/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/** The typed client against a real server: values, errors, principals, pagination helpers. */
let p: Awaited<ReturnType<typeof startTestPlatform>>;

beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(async () => {
  await p?.close();
});

it("round-trips non-finite metrics as JS numbers and reads whole histories page by page", async () => {
  const keel = new KeelClient({ url: `${p.url}/`, principal: "dana" });
  const exp = await keel.tracking.ensureExperiment("sdk");
  expect(await keel.tracking.ensureExperiment("sdk")).toBe(exp);
  const run = await keel.tracking.createRun({ experiment_id: exp });
  expect(run.info.user_id).toBe("dana");
  await keel.tracking.logMetric(run.info.run_id, "x", Number.NaN, { step: 0, timestamp: 1 });
  await keel.tracking.logBatch(run.info.run_id, {
    metrics: [
      { key: "x", value: Number.POSITIVE_INFINITY, step: 1, timestamp: 1 },
      { key: "x", value: Number.NEGATIVE_INFINITY, step: 2, timestamp: 1 },
      ...Array.from({ length: 7 }, (_, i) => ({ key: "x", value: i, step: 3 + i, timestamp: 1 })),
    ],
  });
  const history = await keel.tracking.metricHistory(run.info.run_id, "x", 4);
  expect(history.map((m) => m.value)).toEqual([Number.NaN, Infinity, -Infinity, 0, 1, 2, 3, 4, 5, 6]);
  const got = await keel.tracking.getRun(run.info.run_id);
  expect(got.data.metrics).toEqual([{ key: "x", value: 6, step: 9, timestamp: 1 }]);
  expect(await keel.tracking.getExperimentByName("nope")).toBeUndefined();
});

it("turns MLflow error JSON into KeelApiError with code, status and message", async () => {
  const keel = new KeelClient({ url: p.url });
  const err = await keel.tracking.getRun("0".repeat(32)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KeelApiError);
  expect(err).toMatchObject({
    code: "RESOURCE_DOES_NOT_EXIST",
    errorCode: "RESOURCE_DOES_NOT_EXIST",
    status: 404,
  });
  expect((err as Error).message).toContain("not found");
  const bad = await keel.tracking.searchRuns(["0"], { filter: "metrics.x >" }).catch((e: unknown) => e);
  expect(isKeelApiError(bad, "INVALID_PARAMETER_VALUE")).toBe(true);
  expect((bad as KeelApiError).status).toBe(400);
});
