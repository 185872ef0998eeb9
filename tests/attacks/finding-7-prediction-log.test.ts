import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { MonitoringModule } from "@keel/monitoring";
import { protectInputs } from "@keel/monitoring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { rowsRequest } from "../serving/fixtures";
import { approveForProduction, registerVersion, type TestPlatform } from "./serving-fixtures";

/**
 * Finding 7 (the serving half): the prediction log held raw personal data, 100% sampled,
 * with no expiry. Tagged inputs are now pseudonymized (keyed HMAC) or dropped, sampling and
 * retention are per deployment with safe defaults, and the log lives under `predictions/`.
 */
let p: TestPlatform;
const RAW = [987654.25, 123456.5, 555.125, 42.75];
const monitoring = () =>
  p.platform.modules.find((m) => m.name === "monitoring") as unknown as MonitoringModule;
const logged = async (deployment: string) => {
  await monitoring().predictionLog.flush();
  return monitoring().predictionLog.read(deployment, 0, Date.now() + 1);
};

beforeAll(async () => {
  p = await startTestPlatform();
  await registerVersion(p, "credit", 1);
});

afterAll(async () => {
  await p?.close();
});

describe("finding 7: personal data in the prediction log", () => {
  it("stores inputs tagged pii pseudonymized with a keyed HMAC: linkable, never raw", async () => {
    const created = await p.call("POST", "/api/v1/deployments", {
      name: "credit-a",
      model: "credit",
      version: "1",
      sample_rate: 1,
      pii: { fields: ["input"] },
    });
    expect(created.status).toBe(201);
    expect(created.json.pii).toEqual({ fields: ["input"], mode: "pseudonymize" });
    for (let i = 0; i < 2; i++)
      expect((await p.call("POST", "/v2/models/credit-a/infer", rowsRequest([RAW]))).status).toBe(200);
    const entries = await logged("credit-a");
    expect(entries).toHaveLength(2);
    const [a, b] = entries.map((e) => e.inputs.input[0]);
    for (const v of RAW) expect(a).not.toContain(v);
    expect(a.every((v) => Number.isInteger(v))).toBe(true);
    expect(a).toEqual(b);
    expect(entries[0].pii).toEqual({ fields: ["input"], mode: "pseudonymize" });
    expect(entries[0].outputs).toBeDefined();

    // The key is a file under the data dir only its owner can read.
    const key = await stat(join(p.platform.deps.config.core.dataDir, "keys", "prediction-log.key"));
    expect(key.mode & 0o777).toBe(0o600);
  });

  it("drops inputs tagged pii with mode drop", async () => {
    expect(
      (
        await p.call("POST", "/api/v1/deployments", {
          name: "credit-b",
          model: "credit",
          version: "1",
          sample_rate: 1,
          pii: { fields: ["input"], mode: "drop" },
        })
      ).status,
    ).toBe(201);
    await p.call("POST", "/v2/models/credit-b/infer", rowsRequest([RAW]));
    const [entry] = await logged("credit-b");
    expect(entry.inputs.input).toBeUndefined();
    expect(JSON.stringify(entry)).not.toContain("987654.25");
  });

  it("pseudonymizes or drops single feature columns of an enriched tensor", () => {
    const inputs = { input: [[1, 35, 900.5]] };
    const columns = { input: ["user_id", "age", "avg_amount_7d"] };
    const key = Buffer.from("k".repeat(64));
    const out = protectInputs(inputs, { fields: ["user_id"], mode: "pseudonymize" }, key, columns);
    expect(out.input[0][0]).not.toBe(1);
    expect(out.input[0].slice(1)).toEqual([35, 900.5]);
    expect(protectInputs(inputs, { fields: ["age"], mode: "drop" }, key, columns).input[0]).toEqual([
      1,
      null,
      900.5,
    ]);
    // Without a key nothing tagged is kept.
    expect(protectInputs(inputs, { fields: ["input"], mode: "pseudonymize" }, undefined).input[0]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it("samples production at 10% unless told otherwise, and keeps entries only for the deployment's retention", async () => {
    await approveForProduction(p, "credit", "1");
    const prod = await p.call("POST", "/api/v1/deployments", {
      name: "credit-prod",
      model: "credit",
      version: "1",
      environment: "production",
    });
    expect(prod.status).toBe(201);
    expect(prod.json).toMatchObject({ sample_rate: 0.1, retention_days: 30 });
    const staging = await p.call("POST", "/api/v1/deployments", {
      name: "credit-c",
      model: "credit",
      version: "1",
    });
    expect(staging.json).toMatchObject({ sample_rate: 1, retention_days: 30 });
    expect(
      (await p.call("PATCH", "/api/v1/deployments/credit-c", { retention_days: 7 })).json.retention_days,
    ).toBe(7);
    expect((await p.call("PATCH", "/api/v1/deployments/credit-c", { retention_days: 4000 })).status).toBe(
      400,
    );

    const day = 86_400_000;
    const entry = (time: number) => ({
      deployment: "credit-c",
      model: "credit",
      version: "1",
      requestId: `r${time}`,
      time,
      latencyMs: 1,
      inputs: { input: [[1, 2, 3, 4]] },
      outputs: { output: [[0.5]] },
    });
    const now = Date.now();
    monitoring().predictionLog.record(entry(now - 10 * day));
    monitoring().predictionLog.record(entry(now - 2 * day));
    await monitoring().predictionLog.flush();
    // Written under the predictions/ prefix the artifact API guards.
    const root = p.platform.deps.config.artifacts.root;
    expect((await stat(join(root, "predictions", "deployment=credit-c"))).isDirectory()).toBe(true);

    await monitoring().start(); // the sweep `keel dev` runs at start
    const kept = await monitoring().predictionLog.read("credit-c", 0, now + 1);
    expect(kept.map((e) => e.time)).toEqual([now - 2 * day]);
  });
});
