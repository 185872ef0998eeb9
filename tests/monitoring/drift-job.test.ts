import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@keel/artifacts";
import { StoreAuditLog } from "@keel/audit";
import { createLogger, isKeelError } from "@keel/core";
import { artifactBaselineReader, createMonitoringModule, type DriftReport } from "@keel/monitoring";
import { profileDataset, Random } from "@keel/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";

const HOUR = 3_600_000;
const FEATURES = ["amount", "count_24h", "merchants_30d"];

/** Rows of three independent features: normal(50, 10), uniform(0, 20), exponential-ish(5). */
function rows(n: number, seed: number, shiftAmount = 0): number[][] {
  const rng = new Random(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return Array.from({ length: n }, () => [
    50 + 10 * normal() + shiftAmount,
    rng.next() * 20,
    -5 * Math.log(1 - rng.next()),
  ]);
}

describe("drift job", () => {
  let dir = "";
  let db: Awaited<ReturnType<typeof freshMetadataStore>>;
  let now = Date.UTC(2026, 10, 1, 12);
  const clock = { now: () => now };
  const drifted: DriftReport[] = [];
  const retrained: string[] = [];
  let mod: ReturnType<typeof createMonitoringModule>;
  let audit: StoreAuditLog;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "keel-drift-"));
    db = await freshMetadataStore();
    const artifacts = new FsArtifactStore(dir);
    audit = new StoreAuditLog(db.store, clock);
    const train = rows(5000, 1);
    const profile = profileDataset({
      features: FEATURES,
      columns: FEATURES.map((_, f) => Float64Array.from(train, (r) => r[f])),
      label: new Float64Array(train.length),
    });
    await artifacts.put("1/run1/artifacts/baseline/profile.json", Buffer.from(JSON.stringify(profile)));
    mod = createMonitoringModule(
      { store: db.store, artifacts, audit, clock, log: createLogger("silent") },
      {
        baselines: artifactBaselineReader(artifacts, async (d, served) =>
          d === "fraud" && served?.model === "fraud-model"
            ? "1/run1/artifacts/baseline/profile.json"
            : undefined,
        ),
        onDrift: (r) => {
          drifted.push(r);
        },
        retrain: async (d) => {
          retrained.push(d);
          return { runId: "pipeline-run-1" };
        },
      },
    );
  });
  afterAll(async () => {
    await mod?.stop();
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Logs rows as requests of 10 rows each, one per minute before `now`. */
  function logTraffic(data: number[][]) {
    for (let i = 0; i < data.length; i += 10) {
      mod.predictionSink.record({
        deployment: "fraud",
        model: "fraud-model",
        version: "1",
        requestId: `q${now}-${i}`,
        time: now - (i / 10 + 1) * 60_000,
        latencyMs: 2,
        inputs: { features: data.slice(i, i + 10) },
        outputs: { score: data.slice(i, i + 10).map(() => [0.5]) },
      });
    }
  }

  it("does not flag traffic drawn from the training distribution", async () => {
    logTraffic(rows(1000, 2));
    const r = await mod.service.runDrift("fraud", { windowMs: 24 * HOUR });
    expect(r.rows).toBe(1000);
    expect(r.status).toBe("ok");
    for (const f of r.features) {
      expect(f.psi).toBeLessThan(0.1);
      expect(f.ks.pValue).toBeGreaterThan(0.001);
    }
    expect(drifted).toHaveLength(0);
    expect(r.models).toEqual([{ model: "fraud-model", version: "1", requests: 100 }]);
  });

  it("flags a shifted feature, alerts, triggers retraining and serves the report", async () => {
    now += 48 * HOUR; // the unshifted traffic falls out of the window
    logTraffic(rows(1000, 3, 15));
    const r = await mod.service.runDrift("fraud", { windowMs: 24 * HOUR });
    expect(r.rows).toBe(1000);
    expect(r.status).toBe("drift");
    const byName = Object.fromEntries(r.features.map((f) => [f.name, f]));
    expect(byName.amount.status).toBe("drift");
    expect(byName.amount.psi).toBeGreaterThan(0.25);
    expect(byName.amount.ks.pValue).toBeLessThan(1e-6);
    expect(byName.count_24h.status).toBe("ok");
    expect(r.retraining).toEqual({ triggered: true, runId: "pipeline-run-1" });
    expect(retrained).toEqual(["fraud"]);
    expect(drifted.map((d) => d.id)).toEqual([r.id]);

    expect((await mod.service.latestReport("fraud")).id).toBe(r.id);
    const html = await mod.service.reportHtml(r.id);
    expect(html).toContain("<svg");
    expect(html).toContain("amount");
    const { events } = await audit.list({ resource: "deployment:fraud" });
    expect(events.map((e) => e.action)).toEqual([
      "monitoring.drift.report",
      "monitoring.drift.report",
      "monitoring.drift.alert",
    ]);
  });

  it("answers 404 without a baseline or a report, 400 for a bad name", async () => {
    now += 72 * HOUR;
    const empty = await mod.service.runDrift("fraud", { windowMs: HOUR }).catch((e) => e);
    // With no traffic the served model is unknown, and so is the baseline.
    expect(isKeelError(empty) && empty.code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(empty.message).toMatch(/logged no predictions in the window/);
    await expect(mod.service.latestReport("nobody")).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    await expect(mod.service.reportHtml("0".repeat(32))).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
    await expect(mod.service.runDrift("../x")).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
  });
});
