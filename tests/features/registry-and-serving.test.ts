import { StoreAuditLog } from "@keel/audit";
import { fixedClock } from "@keel/core";
import {
  DynamoDbOnlineStore,
  encodeEntityKey,
  FeatureCatalog,
  FeatureRegistry,
  type FeatureRepoInput,
  getOnlineFeatures,
  onlineResponseToRows,
} from "@keel/features";
import { startDynalite } from "@keel/metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";

const repo = (ttl = 60): FeatureRepoInput => ({
  entities: [{ kind: "entity", name: "card", joinKey: "card_id", valueType: "string" }],
  sources: [{ kind: "file_source", name: "tx", path: "/data/tx.parquet" }],
  featureViews: [
    {
      kind: "feature_view",
      name: "card_velocity",
      entities: ["card"],
      schema: [
        { name: "tx_1h", dtype: "int64" },
        { name: "amount_1h", dtype: "float64" },
      ],
      ttlSeconds: ttl,
      source: "tx",
    },
  ],
});

describe("feature registry", () => {
  let meta: Awaited<ReturnType<typeof freshMetadataStore>>;
  beforeAll(async () => {
    meta = await freshMetadataStore();
  });
  afterAll(() => meta.close());

  it("lets exactly one of two concurrent applies register a version", async () => {
    const clock = fixedClock(1_000, 1);
    const a = new FeatureRegistry(meta.store, new StoreAuditLog(meta.store, clock), clock);
    const b = new FeatureRegistry(meta.store, new StoreAuditLog(meta.store, clock), clock);
    const results = await Promise.allSettled([a.apply(repo(60)), b.apply(repo(120))]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason.code).toBe("ABORTED");
    const snap = await a.current({ fresh: true });
    expect(snap.version).toBe(1);
    // The loser re-runs and wins version 2 with its change.
    const retry = await b.apply(repo(180));
    expect(retry).toMatchObject({ version: 2, changed: true });
    expect((await a.version(1)).getView("card_velocity").view.ttlSeconds).toBeOneOf([60, 120]);
    expect((await a.current({ fresh: true })).catalog.getView("card_velocity").view.ttlSeconds).toBe(180);
  });

  it("moves a watermark only forward", async () => {
    const clock = fixedClock(0);
    const r = new FeatureRegistry(meta.store, new StoreAuditLog(meta.store, clock), clock);
    expect(await r.watermark("v")).toBe(0);
    expect(await r.advanceWatermark("v", 500)).toBe(true);
    expect(await r.advanceWatermark("v", 400)).toBe(false);
    expect(await r.watermark("v")).toBe(500);
  });

  it("names the problem in invalid definitions", () => {
    const bad = (mut: (r: FeatureRepoInput) => void) => {
      const r = repo();
      mut(r);
      return () => new FeatureCatalog(r);
    };
    expect(bad((r) => (r.featureViews![0].source = "nope"))).toThrow(/unknown source 'nope'/);
    expect(bad((r) => r.featureViews![0].schema!.push({ name: "tx_1h", dtype: "int64" }))).toThrow(
      /declared twice/,
    );
    expect(bad((r) => (r.featureViews![0].name = "bad name"))).toThrow(/featureViews.0.name/);
    expect(bad((r) => r.featureViews![0].schema!.push({ name: "card_id", dtype: "string" }))).toThrow(
      /clashes with a join key/,
    );
    expect(bad((r) => r.entities!.push(r.entities![0]))).toThrow(/entity 'card' is defined twice/);
    expect(bad((r) => r.sources!.push({ kind: "push_source", name: "p", batchSource: "tx" }))).toThrow(
      /must be a prefix ending in "\/"/,
    );
    expect(
      bad(
        (r) =>
          (r.featureServices = [{ kind: "feature_service", name: "s", features: ["card_velocity:nope"] }]),
      ),
    ).toThrow(/feature service 's': feature view 'card_velocity' has no feature 'nope'/);
  });
});

describe("online serving statuses", () => {
  let server: Awaited<ReturnType<typeof startDynalite>>;
  let store: DynamoDbOnlineStore;
  beforeAll(async () => {
    server = await startDynalite();
    store = new DynamoDbOnlineStore({ table: "online", endpoint: server.endpoint, manageTable: true });
    await store.ensureSchema();
  });
  afterAll(async () => {
    await store.close();
    await server.close();
  });

  it("reports OUTSIDE_MAX_AGE for a value older than the ttl, withholding it", async () => {
    const catalog = new FeatureCatalog(repo(60));
    const t = Date.UTC(2026, 5, 1);
    await store.write(
      { name: "card_velocity", ttlSeconds: 60 },
      [
        {
          entityKey: encodeEntityKey(["c1"]),
          eventTs: t,
          createdTs: 0,
          values: { tx_1h: 3, amount_1h: 99.5 },
        },
      ],
      t,
    );
    const req = { features: ["card_velocity:tx_1h"], entities: { card_id: ["c1"] } };
    const fresh = await getOnlineFeatures(store, catalog, req, t + 30_000);
    expect(fresh.results[1]).toEqual({
      values: [3],
      statuses: ["PRESENT"],
      event_timestamps: ["2026-06-01T00:00:00Z"],
    });
    const stale = await getOnlineFeatures(store, catalog, req, t + 61_000);
    expect(stale.results[1]).toEqual({
      values: [null],
      statuses: ["OUTSIDE_MAX_AGE"],
      event_timestamps: ["2026-06-01T00:00:00Z"],
    });
    expect(onlineResponseToRows(fresh)).toEqual([{ card_id: "c1", tx_1h: 3 }]);
  });
});
