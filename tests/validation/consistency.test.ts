import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOnlineStore, encodeEntityKey, rowsToParquet } from "@keel/features";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keel } from "../cli/keel";
import { startTestPlatform } from "../helpers/platform";
import { writeFeatureHistory } from "./helpers";

const dir = mkdtempSync(join(tmpdir(), "keel-consistency-"));
const now = Date.now();
const FEATURES = 5;
let p: Awaited<ReturnType<typeof startTestPlatform>>;

const check = (body: Record<string, unknown> = {}) =>
  p.call("POST", "/api/v1/features/views/user_stats/check-consistency", { sample: 1000, ...body });
const feature = (r: { json: { features: Array<{ name: string; mismatchRate: number }> } }, name: string) =>
  r.json.features.find((f) => f.name === name);

/**
 * Training-serving skew on the local platform (dynalite-backed DynamoDB online store, DuckDB
 * offline store): a freshly materialized view is consistent; an online store drifted on
 * purpose (a wrong value, a newer offline row never materialized, an entity never loaded)
 * is caught, feature by feature, and --threshold makes the CLI fail.
 */
beforeAll(async () => {
  p = await startTestPlatform();
  const repo = await writeFeatureHistory(join(dir, "user_stats"), {
    entities: 200,
    features: FEATURES,
    nowMs: now,
  });
  expect((await p.call("POST", "/api/v1/features/apply", { definitions: repo })).status).toBe(200);
  const m = await p.call("POST", "/api/v1/features/materialize", { views: ["user_stats"] });
  expect(m.json.views[0].written).toBe(200);
}, 120_000);
afterAll(async () => {
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("features check-consistency", () => {
  it("finds a freshly materialized view consistent", async () => {
    const r = await check();
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      view: "user_stats",
      entities: 200,
      sampled: 200,
      passed: true,
      mismatchRate: 0,
    });
    for (const f of r.json.features) expect(f).toMatchObject({ missing: 0, stale: 0, different: 0 });
    const some = await check({ sample: 50, seed: 3 });
    expect(some.json.sampled).toBe(50);
  });

  it("catches an injected online error, a stale entity and a missing one, per feature", async () => {
    // A second client to the same DynamoDB table writes a wrong value for u5's f2 (at a newer event time).
    const online = createOnlineStore(p.platform.deps.config);
    const [u5] = await online.read("user_stats", [encodeEntityKey(["u5"])]);
    await online.write(
      { name: "user_stats", ttlSeconds: 7 * 86_400 },
      [
        {
          entityKey: encodeEntityKey(["u5"]),
          eventTs: now - 1_800_000,
          createdTs: 0,
          values: { ...u5!.values, f2: 12345 },
        },
      ],
      now,
    );
    await online.close();
    // Offline rows nobody materialized: newer values for u7, and a new entity u_new.
    const cols = [
      { name: "user_id", type: "STRING" as const },
      { name: "event_timestamp", type: "TIMESTAMP" as const },
      ...Array.from({ length: FEATURES }, (_, f) => ({ name: `f${f}`, type: "DOUBLE" as const })),
    ];
    const row = (user: string) => ({
      user_id: user,
      event_timestamp: new Date(now - 600_000),
      ...Object.fromEntries(Array.from({ length: FEATURES }, (_, f) => [`f${f}`, -1 - f])),
    });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      join(dir, "user_stats", "part-1.parquet"),
      Buffer.from(rowsToParquet(cols, [row("u7"), row("u_new")])),
    );

    const r = await check({ threshold: 0.001 });
    expect(r.json).toMatchObject({ entities: 201, sampled: 201, passed: false });
    expect(r.json.mismatchRate).toBeCloseTo(3 / 201, 9);
    expect(feature(r, "f2")).toMatchObject({ missing: 1, stale: 1, different: 1 });
    expect(feature(r, "f2")!.mismatchRate).toBeCloseTo(3 / 201, 9);
    expect(feature(r, "f0")).toMatchObject({ missing: 1, stale: 1, different: 0 });
    const wrong = (feature(r, "f2") as unknown as { examples: Array<Record<string, unknown>> }).examples.find(
      (e) => e.kind === "different",
    );
    expect(wrong).toMatchObject({ entity: encodeEntityKey(["u5"]), online: 12345, offline: u5!.values.f2 });

    const loose = await check({ threshold: 0.02 });
    expect(loose.json.passed).toBe(true);
  });

  it("fails the CLI when a feature's mismatch rate exceeds --threshold", async () => {
    const strict = await keel([
      "features",
      "check-consistency",
      "user_stats",
      "--threshold",
      "0.001",
      "--url",
      p.url,
    ]);
    expect(strict.code).toBe(1);
    expect(strict.out).toMatch(/user_stats: 201 of 201 entities checked, 1\.49% with a mismatch/);
    expect(strict.out).toMatch(/f2\s+1\s+1\s+1\s+1\.49%/);
    expect(strict.out).toMatch(/INCONSISTENT/);
    const loose = await keel([
      "features",
      "check-consistency",
      "user_stats",
      "--threshold",
      "0.02",
      "--url",
      p.url,
    ]);
    expect(loose.code).toBe(0);
  }, 60_000);
});
