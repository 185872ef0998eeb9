import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadRepoDir } from "@keel/features";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { createDriverRepo } from "./helpers/driver-repo";

/**
 * The feature store as a user meets it over HTTP on the local platform (dynalite online
 * store, DuckDB offline store): apply, materialize, online reads in Feast's shape, push,
 * historical retrieval, and bad input refused without partial writes.
 */
describe("feature store over HTTP", () => {
  const now = Date.now();
  const repo = createDriverRepo(now);
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  let definitions: Awaited<ReturnType<typeof loadRepoDir>>;

  beforeAll(async () => {
    p = await startTestPlatform();
    definitions = await loadRepoDir(repo.dir);
  });
  afterAll(async () => {
    await p?.close();
    repo.cleanup();
  });

  const online = (body: unknown) => p.call("POST", "/api/v1/features/get-online-features", body);
  const driverFiles = () => readdirSync(join(repo.dir, "data/driver_stats")).sort();

  it("applies definitions with a diff, versioned, audited, and idempotently", async () => {
    const first = await p.call("POST", "/api/v1/features/apply", { definitions });
    expect(first.status).toBe(200);
    expect(first.json.version).toBe(1);
    expect(
      first.json.diff.map(
        (d: { kind: string; name: string; change: string }) => `${d.change} ${d.kind}/${d.name}`,
      ),
    ).toEqual([
      "added entity/customer",
      "added entity/driver",
      "added feature_service/driver_activity",
      "added feature_view/customer_profile",
      "added feature_view/driver_hourly_stats",
      "added file_source/customer_source",
      "added file_source/driver_stats_source",
      "added push_source/driver_stats_push",
    ]);
    const again = await p.call("POST", "/api/v1/features/apply", { definitions });
    expect(again.json).toEqual({ version: 1, changed: false, diff: [] });

    const changed = structuredClone(definitions);
    changed.featureViews![0].ttlSeconds = 7200;
    const dry = await p.call("POST", "/api/v1/features/apply", { definitions: changed, dry_run: true });
    expect(dry.json).toMatchObject({ version: 1, changed: false });
    expect(dry.json.diff).toEqual([
      {
        kind: "feature_view",
        name: changed.featureViews![0].name,
        change: "changed",
        fields: ["ttlSeconds"],
      },
    ]);
    expect((await p.call("GET", "/api/v1/features/definitions")).json.version).toBe(1);

    const events = await p.platform.deps.audit.list({ action: "features.apply" });
    expect(events.events).toHaveLength(1);
    expect(events.events[0].resource).toBe("features:registry/version:1");
  });

  it("lists and describes what is registered", async () => {
    const all = await p.call("GET", "/api/v1/features/definitions");
    expect(all.json.featureViews.map((v: { name: string }) => v.name).sort()).toEqual([
      "customer_profile",
      "driver_hourly_stats",
    ]);
    const one = await p.call("GET", "/api/v1/features/definitions/driver_hourly_stats");
    expect(one.json.definitions[0]).toMatchObject({
      kind: "feature_view",
      owner: "risk-ml@bank.example",
      tags: { team: "risk" },
    });
    expect((await p.call("GET", "/api/v1/features/definitions/nope")).status).toBe(404);
  });

  it("refuses definitions whose source lacks a declared column, registering nothing", async () => {
    const bad = structuredClone(definitions);
    bad
      .featureViews!.find((v) => v.name === "customer_profile")!
      .schema!.push({ name: "income", dtype: "float64" });
    const r = await p.call("POST", "/api/v1/features/apply", { definitions: bad });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/source 'customer_source' has no column 'income'/);
    const dangling = structuredClone(definitions);
    dangling.featureViews![0].entities = ["merchant"];
    expect((await p.call("POST", "/api/v1/features/apply", { definitions: dangling })).json.message).toMatch(
      /unknown entity 'merchant'/,
    );
    expect((await p.call("GET", "/api/v1/features/definitions")).json.version).toBe(1);
  });

  it("materializes offline -> online, then reads Feast-shaped responses with statuses", async () => {
    const m = await p.call("POST", "/api/v1/features/materialize", {});
    expect(m.status).toBe(200);
    const byView = Object.fromEntries(m.json.views.map((v: { view: string }) => [v.view, v]));
    // driver: 3 entities read, 1003's only row is past the ttl and is not loaded.
    expect(byView.driver_hourly_stats).toMatchObject({
      rowsRead: 3,
      written: 2,
      skipped: 1,
      startMs: null,
      done: true,
    });
    expect(byView.customer_profile).toMatchObject({ rowsRead: 2, written: 2 });

    const r = await online({
      features: ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate", "customer_profile:segment"],
      entities: { driver_id: [1001, 1002, 1003, 9999], customer_id: ["c1", "c2", "c1", "zz"] },
    });
    expect(r.status).toBe(200);
    expect(r.json.metadata.feature_names).toEqual([
      "driver_id",
      "customer_id",
      "conv_rate",
      "acc_rate",
      "segment",
    ]);
    const [ids, , conv, acc, segment] = r.json.results;
    expect(ids).toEqual({
      values: [1001, 1002, 1003, 9999],
      statuses: ["PRESENT", "PRESENT", "PRESENT", "PRESENT"],
      event_timestamps: Array(4).fill("1970-01-01T00:00:00Z"),
    });
    // 1001: the latest event wins and, at equal event times, the latest created.
    expect(conv.values).toEqual([0.25, 0.5, null, null]);
    expect(conv.statuses).toEqual(["PRESENT", "PRESENT", "NOT_FOUND", "NOT_FOUND"]);
    expect(conv.event_timestamps[0]).toBe(
      new Date(Math.floor((now - 2 * 3_600_000) / 1000) * 1000).toISOString().replace(".000Z", "Z"),
    );
    expect(acc.statuses).toEqual(["PRESENT", "NULL_VALUE", "NOT_FOUND", "NOT_FOUND"]);
    expect(segment.values).toEqual(["gold", null, "gold", null]);
    expect(segment.statuses).toEqual(["PRESENT", "NULL_VALUE", "PRESENT", "NOT_FOUND"]);
  });

  it("serves a feature service with full feature names", async () => {
    const r = await online({
      feature_service: "driver_activity",
      entities: { driver_id: [1002] },
      full_feature_names: true,
    });
    expect(r.json.metadata.feature_names).toEqual([
      "driver_id",
      "driver_hourly_stats__conv_rate",
      "driver_hourly_stats__avg_daily_trips",
    ]);
    expect(r.json.results[2].values).toEqual([50]);
  });

  it("answers bad online requests with 4xx naming the problem", async () => {
    const unknownView = await online({ features: ["nope:x"], entities: { driver_id: [1] } });
    expect([unknownView.status, unknownView.json.error_code]).toEqual([404, "RESOURCE_DOES_NOT_EXIST"]);
    const unknownFeature = await online({
      features: ["driver_hourly_stats:nope"],
      entities: { driver_id: [1] },
    });
    expect(unknownFeature.json.message).toMatch(/no feature 'nope'/);
    const wrongType = await online({
      features: ["driver_hourly_stats:conv_rate"],
      entities: { driver_id: ["1001"] },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.message).toMatch(/join key 'driver_id' must be an int64, got string "1001"/);
    const missingKey = await online({
      features: ["driver_hourly_stats:conv_rate"],
      entities: { customer_id: ["c1"] },
    });
    expect(missingKey.json.message).toMatch(/missing join key 'driver_id'/);
    const ragged = await online({
      features: ["driver_hourly_stats:conv_rate"],
      entities: { driver_id: [1], customer_id: ["a", "b"] },
    });
    expect(ragged.status).toBe(400);
    expect((await online({ entities: { driver_id: [1] } })).json.message).toMatch(/no features requested/);
  });

  it("pushes online and offline; an older push arriving later never wins", async () => {
    const filesBefore = driverFiles().length;
    const row = (h: number, rate: number) => ({
      push_source_name: "driver_stats_push",
      to: "online_and_offline",
      df: {
        driver_id: [1002],
        event_timestamp: [new Date(now - h * 3_600_000).toISOString()],
        created: [null],
        conv_rate: [rate],
        acc_rate: [0.1],
        avg_daily_trips: [5],
      },
    });
    const newer = await p.call("POST", "/api/v1/features/push", row(0.5, 0.99));
    expect(newer.status).toBe(200);
    expect(newer.json.online).toEqual([{ view: "driver_hourly_stats", written: 1, skipped: 0 }]);
    await p.call("POST", "/api/v1/features/push", row(1, 0.11));
    const r = await online({ features: ["driver_hourly_stats:conv_rate"], entities: { driver_id: [1002] } });
    expect(r.json.results[1].values).toEqual([0.99]);
    expect(driverFiles().length).toBe(filesBefore + 2);
  });

  it("refuses a bad push without writing anything", async () => {
    const filesBefore = driverFiles();
    const base = {
      push_source_name: "driver_stats_push",
      to: "online_and_offline",
      df: {
        driver_id: [1001, 1001],
        event_timestamp: [new Date(now).toISOString(), new Date(now).toISOString()],
        conv_rate: [0.5, "high"],
        acc_rate: [0.1, 0.1],
        avg_daily_trips: [1, 1],
      },
    };
    const bad = await p.call("POST", "/api/v1/features/push", base);
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/feature 'conv_rate' must be float64, got string "high"/);
    const noTs = await p.call("POST", "/api/v1/features/push", {
      ...base,
      df: { ...base.df, event_timestamp: undefined },
    });
    expect(noTs.json.message).toMatch(/missing column 'event_timestamp'/);
    const extra = await p.call("POST", "/api/v1/features/push", {
      ...base,
      df: { ...base.df, bogus: [1, 2] },
    });
    expect(extra.json.message).toMatch(/column 'bogus' is not in push source/);
    expect(
      (await p.call("POST", "/api/v1/features/push", { ...base, push_source_name: "nope" })).status,
    ).toBe(404);
    expect(driverFiles()).toEqual(filesBefore);
    const r = await online({ features: ["driver_hourly_stats:conv_rate"], entities: { driver_id: [1001] } });
    expect(r.json.results[1].values).toEqual([0.25]);
  });

  it("builds point-in-time correct training rows, pushed rows included", async () => {
    const h = (x: number) => new Date(now - x * 3_600_000).toISOString();
    const r = await p.call("POST", "/api/v1/features/historical", {
      entity_rows: [
        { driver_id: 1001, event_timestamp: h(2.5), label: 1 },
        { driver_id: 1001, event_timestamp: h(0), label: 0 },
        { driver_id: 1002, event_timestamp: h(0.75), label: 0 },
        { driver_id: 1002, event_timestamp: h(0.25), label: 1 },
        { driver_id: 1003, event_timestamp: h(0), label: 0 },
      ],
      features: ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"],
    });
    expect(r.status).toBe(200);
    expect(r.json.columns).toEqual(["driver_id", "event_timestamp", "label", "conv_rate", "avg_daily_trips"]);
    expect(r.json.rows.map((x: { conv_rate: number | null }) => x.conv_rate)).toEqual([
      0.1,
      0.25,
      0.11,
      0.99,
      null,
    ]);
    const noTs = await p.call("POST", "/api/v1/features/historical", {
      entity_rows: [{ driver_id: 1001 }],
      features: ["driver_hourly_stats:conv_rate"],
    });
    expect([noTs.status, noTs.json.message]).toEqual([400, "entity rows have no 'event_timestamp' column"]);
  });

  it("materializes incrementally from the watermark, idempotently", async () => {
    const r = await p.call("POST", "/api/v1/features/materialize", {
      incremental: true,
      views: ["driver_hourly_stats"],
    });
    expect(r.json.views).toHaveLength(1);
    const v = r.json.views[0];
    expect(v.startMs).toBeGreaterThanOrEqual(now);
    // Only rows pushed after the full run fall in the window; they are already online.
    expect(v.rowsRead).toBe(0);
    const full = await p.call("POST", "/api/v1/features/materialize", { views: ["driver_hourly_stats"] });
    expect(full.json.views[0].rowsRead).toBe(3);
    const after = await online({
      features: ["driver_hourly_stats:conv_rate"],
      entities: { driver_id: [1002] },
    });
    expect(after.json.results[1].values).toEqual([0.99]);
  });
});
