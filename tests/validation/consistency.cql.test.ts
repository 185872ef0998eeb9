import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOnlineStore, encodeEntityKey } from "@keel/features";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { CQL_ENV } from "../setup/cassandra";
import { writeFeatureHistory } from "./helpers";

/**
 * Training-serving skew with the CQL online store: the platform's online store is a real
 * Cassandra node (started by tests/setup/cassandra.ts for this file, like the CQL conformance
 * suite), the offline store DuckDB. A value written wrong into Cassandra by a second client
 * is found, with the entity, the feature and both values.
 */
const dir = mkdtempSync(join(tmpdir(), "keel-consistency-cql-"));
const now = Date.now();
let p: Awaited<ReturnType<typeof startTestPlatform>>;

function contactPoint(): { host: string; port: number } {
  const cp = process.env[CQL_ENV];
  if (!cp)
    throw new Error(`${CQL_ENV} is not set: tests/setup/cassandra.ts did not start the Cassandra node`);
  const [host, port] = cp.split(":");
  return { host, port: Number(port) };
}

beforeAll(async () => {
  const { host, port } = contactPoint();
  p = await startTestPlatform({
    config: {
      features: {
        onlineStore: "cql",
        cql: {
          contactPoints: [host],
          port,
          flavor: "cassandra",
          keyspace: `keel_consistency_${process.pid}`,
          localDc: "datacenter1",
          tls: false,
        },
      },
    },
  });
  const repo = await writeFeatureHistory(join(dir, "user_stats"), { entities: 150, features: 4, nowMs: now });
  expect((await p.call("POST", "/api/v1/features/apply", { definitions: repo })).status).toBe(200);
  const m = await p.call("POST", "/api/v1/features/materialize", { views: ["user_stats"] });
  expect(m.json.views[0].written).toBe(150);
}, 180_000);
afterAll(async () => {
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

const check = (body: Record<string, unknown> = {}) =>
  p.call("POST", "/api/v1/features/views/user_stats/check-consistency", { sample: 1000, ...body });

describe("check-consistency against the CQL online store", () => {
  it("reads Cassandra and finds a freshly materialized view consistent", async () => {
    expect(p.platform.deps.config.features.onlineStore).toBe("cql");
    const r = await check();
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      view: "user_stats",
      entities: 150,
      sampled: 150,
      passed: true,
      mismatchRate: 0,
    });
  });

  it("finds a wrong value injected into Cassandra", async () => {
    const online = createOnlineStore(p.platform.deps.config);
    const key = encodeEntityKey(["u42"]);
    const [u42] = await online.read("user_stats", [key]);
    expect(u42).toBeDefined();
    await online.write(
      { name: "user_stats", ttlSeconds: 7 * 86_400 },
      [
        {
          entityKey: key,
          eventTs: u42!.eventTs + 60_000,
          createdTs: 1,
          values: { ...u42!.values, f3: 777.5 },
        },
      ],
      now,
    );
    await online.close();
    const r = await check({ threshold: 0 });
    expect(r.json).toMatchObject({ sampled: 150, passed: false });
    expect(r.json.mismatchRate).toBeCloseTo(1 / 150, 9);
    const f3 = r.json.features.find((f: { name: string }) => f.name === "f3");
    expect(f3).toMatchObject({ missing: 0, stale: 0, different: 1 });
    expect(f3.examples).toEqual([{ entity: key, kind: "different", online: 777.5, offline: u42!.values.f3 }]);
    for (const f of r.json.features.filter((x: { name: string }) => x.name !== "f3"))
      expect(f).toMatchObject({ missing: 0, stale: 0, different: 0 });
  });
});
