import {
  type AppendColumn,
  FeatureCatalog,
  type FeatureRepoInput,
  type FileSource,
  getHistoricalFeatures,
  type OfflineStore,
  type Row,
} from "@keel/features";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** What a suite needs around an adapter: a place to put Parquet sources and entity files. */
export interface OfflineHarness {
  store: OfflineStore;
  /** Writes rows as Parquet where a file source named `name` reads them (a prefix) and returns it. */
  source(
    name: string,
    columns: AppendColumn[],
    rows: Row[],
    extra?: Partial<FileSource>,
  ): Promise<FileSource>;
  /** Writes entity rows as a Parquet file and returns its path or URI. */
  entityFile(columns: AppendColumn[], rows: Row[]): Promise<string>;
  /** A fresh location the adapter may write a training set to, and a reader for it. */
  outPath(): string;
  readOut(path: string): Promise<Row[] | undefined>;
  close(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);
const sec = (s: number) => new Date(T0 + s * 1000);
const ms = (v: unknown) =>
  v instanceof Date ? v.getTime() : v === null || v === undefined ? null : Number(new Date(String(v)));

const SRC_COLS: AppendColumn[] = [
  { name: "driver_id", type: "INT64" },
  { name: "event_timestamp", type: "TIMESTAMP" },
  { name: "created", type: "TIMESTAMP" },
  { name: "rate", type: "DOUBLE" },
  { name: "trips", type: "INT64" },
];
const ENT_COLS: AppendColumn[] = [
  { name: "driver_id", type: "INT64" },
  { name: "event_timestamp", type: "TIMESTAMP" },
  { name: "label", type: "STRING" },
];

function repo(sources: FileSource[], ttls: number[]): FeatureRepoInput {
  return {
    entities: [{ kind: "entity", name: "driver", joinKey: "driver_id", valueType: "int64" }],
    sources,
    featureViews: ttls.map((ttl, i) => ({
      kind: "feature_view",
      name: `stats${i}`,
      entities: ["driver"],
      schema: [
        { name: "rate", dtype: "float64" },
        { name: "trips", dtype: "int64" },
      ],
      ttlSeconds: ttl,
      source: sources[i].name,
    })),
  };
}

interface SrcRow {
  k: number;
  t: number;
  c: number | null;
}

/** Feast's rule, by brute force: candidates in (t_e - ttl, t_e], latest event, then latest created. */
function reference(entity: { k: number; t: number }, rows: SrcRow[], ttl: number): number | null {
  let best: number | null = null;
  rows.forEach((r, i) => {
    if (r.k !== entity.k || r.t > entity.t || (ttl > 0 && r.t < entity.t - ttl)) return;
    if (best === null) best = i;
    else {
      const b = rows[best];
      if (r.t > b.t || (r.t === b.t && (r.c ?? Number.NEGATIVE_INFINITY) > (b.c ?? Number.NEGATIVE_INFINITY)))
        best = i;
    }
  });
  return best;
}

/** The OfflineStore contract (packages/features/src/offline/port.ts) through getHistoricalFeatures. */
export function offlineStoreSuite(
  name: string,
  make: () => Promise<OfflineHarness>,
  opts: { propertyRuns?: number } = {},
) {
  describe(`OfflineStore conformance: ${name}`, () => {
    let h: OfflineHarness;
    let srcN = 0;
    const putSource = (rows: SrcRow[], extra?: Partial<FileSource>) =>
      h.source(
        `src${++srcN}`,
        SRC_COLS,
        rows.map((r, i) => ({
          driver_id: r.k,
          event_timestamp: sec(r.t),
          created: r.c === null ? null : sec(r.c),
          rate: i + 0.5,
          trips: i,
        })),
        { createdTimestampColumn: "created", ...extra },
      );

    beforeAll(async () => {
      h = await make();
    });
    afterAll(async () => {
      await h?.close();
    });

    it("matches a brute-force point-in-time join on random data, never leaking the future (property)", async () => {
      const srcRow = fc.record({
        k: fc.integer({ min: 1, max: 3 }),
        t: fc.integer({ min: 0, max: 40 }),
        c: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(srcRow, { minLength: 0, maxLength: 25, selector: (r) => `${r.k}|${r.t}|${r.c}` }),
          fc.uniqueArray(srcRow, { minLength: 0, maxLength: 25, selector: (r) => `${r.k}|${r.t}|${r.c}` }),
          fc.array(fc.record({ k: fc.integer({ min: 1, max: 4 }), t: fc.integer({ min: 0, max: 45 }) }), {
            minLength: 1,
            maxLength: 15,
          }),
          fc.constantFrom(0, 5, 10),
          fc.constantFrom(0, 7),
          async (rowsA, rowsB, ents, ttlA, ttlB) => {
            const sources = [await putSource(rowsA), await putSource(rowsB)];
            const catalog = new FeatureCatalog(repo(sources, [ttlA, ttlB]));
            const entities = ents.map((e, i) => ({
              driver_id: e.k,
              event_timestamp: sec(e.t),
              label: `row${i}`,
            }));
            const res = await getHistoricalFeatures(h.store, catalog, {
              entities: { path: await h.entityFile(ENT_COLS, entities) },
              features: ["stats0:trips", "stats0:rate", "stats1:trips"],
              fullFeatureNames: true,
            });
            expect(res.columns).toEqual([
              "driver_id",
              "event_timestamp",
              "label",
              "stats0__trips",
              "stats0__rate",
              "stats1__trips",
            ]);
            expect(res.rows?.map((r) => r.label)).toEqual(entities.map((e) => e.label));
            ents.forEach((e, i) => {
              const got = res.rows?.[i] as Row;
              const a = reference(e, rowsA, ttlA);
              const b = reference(e, rowsB, ttlB);
              expect(got.stats0__trips ?? null, `row ${i} view 0`).toBe(a);
              expect(got.stats0__rate ?? null).toBe(a === null ? null : a + 0.5);
              expect(got.stats1__trips ?? null, `row ${i} view 1`).toBe(b);
              // No future: whatever joined happened at or before the entity's time.
              if (a !== null) expect(rowsA[a].t).toBeLessThanOrEqual(e.t);
            });
          },
        ),
        { numRuns: opts.propertyRuns ?? 25 },
      );
    });

    it("writes the training set as Parquet with bare names and nulls where nothing joins", async () => {
      const src = await putSource([
        { k: 1, t: 10, c: null },
        { k: 1, t: 20, c: null },
      ]);
      const catalog = new FeatureCatalog(repo([src], [0]));
      const out = h.outPath();
      const res = await getHistoricalFeatures(h.store, catalog, {
        entities: {
          path: await h.entityFile(ENT_COLS, [
            { driver_id: 1, event_timestamp: sec(15), label: "a" },
            { driver_id: 2, event_timestamp: sec(25), label: "b" },
            { driver_id: 1, event_timestamp: sec(5), label: "c" },
          ]),
        },
        features: ["stats0:rate"],
        outPath: out,
      });
      expect(res.rowCount).toBe(3);
      const rows = (await h.readOut(out))?.sort((x, y) => String(x.label).localeCompare(String(y.label)));
      expect(rows?.map((r) => [r.label, r.rate ?? null])).toEqual([
        ["a", 0.5],
        ["b", null],
        ["c", null],
      ]);
    });

    it("takes entity rows from memory too", async () => {
      const src = await putSource([{ k: 1, t: 10, c: null }]);
      const res = await getHistoricalFeatures(h.store, new FeatureCatalog(repo([src], [0])), {
        entities: { rows: [{ driver_id: 1, event_timestamp: sec(11).toISOString(), extra: "x" }] },
        features: ["stats0:trips"],
      });
      expect(res.rows?.map((r) => [r.extra, r.trips, ms(r.event_timestamp)])).toEqual([
        ["x", 0, sec(11).getTime()],
      ]);
    });

    it("rejects bad input naming the problem, writing nothing", async () => {
      const src = await putSource([{ k: 1, t: 10, c: null }]);
      const catalog = new FeatureCatalog(repo([src], [0]));
      const good = await h.entityFile(ENT_COLS, [{ driver_id: 1, event_timestamp: sec(11), label: "a" }]);
      const out = h.outPath();
      const fails = async (req: Parameters<typeof getHistoricalFeatures>[2], msg: RegExp) => {
        await expect(getHistoricalFeatures(h.store, catalog, { outPath: out, ...req })).rejects.toThrow(msg);
      };
      await fails({ entities: { path: good }, features: ["nope:rate"] }, /unknown feature view 'nope'/);
      await fails({ entities: { path: good }, features: ["stats0:nope"] }, /has no feature 'nope'/);
      const noTs = await h.entityFile([{ name: "driver_id", type: "INT64" }], [{ driver_id: 1 }]);
      await fails({ entities: { path: noTs }, features: ["stats0:rate"] }, /no 'event_timestamp' column/);
      const strKey = await h.entityFile(
        [
          { name: "driver_id", type: "STRING" },
          { name: "event_timestamp", type: "TIMESTAMP" },
        ],
        [{ driver_id: "1", event_timestamp: sec(1) }],
      );
      await fails(
        { entities: { path: strKey }, features: ["stats0:rate"] },
        /entity column 'driver_id' is .* int64/i,
      );
      const thin = await h.source(
        "thin",
        SRC_COLS.filter((c) => c.name !== "trips"),
        [{ driver_id: 1, event_timestamp: sec(1), created: null, rate: 1 }],
      );
      const thinCatalog = new FeatureCatalog(repo([thin], [0]));
      await expect(
        getHistoricalFeatures(h.store, thinCatalog, {
          entities: { path: good },
          features: ["stats0:rate"],
          outPath: out,
        }),
      ).rejects.toThrow(/source 'thin' has no column 'trips'/);
      expect(await h.readOut(out)).toBeUndefined();
    });

    it("streams the latest row per entity within a window, in chunks", async () => {
      const src = await putSource([
        { k: 1, t: 10, c: null },
        { k: 1, t: 30, c: 1 },
        { k: 1, t: 30, c: 2 },
        { k: 2, t: 5, c: null },
        { k: 3, t: 50, c: null },
      ]);
      const spec = {
        joinKeys: ["driver_id"],
        timestampField: "event_timestamp",
        createdField: "created",
        features: ["trips"],
        endMs: sec(40).getTime(),
      };
      const chunks: Row[][] = [];
      for await (const c of h.store.latestRows(src, spec, 1)) chunks.push(c);
      expect(chunks.every((c) => c.length === 1)).toBe(true);
      const byKey = Object.fromEntries(
        chunks.flat().map((r) => [Number(r.driver_id), [r.trips, ms(r.keel_ts)]]),
      );
      expect(byKey).toEqual({ 1: [2, sec(30).getTime()], 2: [3, sec(5).getTime()] });
      const later: Row[] = [];
      for await (const c of h.store.latestRows(
        src,
        { ...spec, startMs: sec(10).getTime(), endMs: sec(60).getTime() },
        100,
      ))
        later.push(...c);
      expect(later.map((r) => Number(r.driver_id)).sort()).toEqual([1, 3]);
    });

    it("appends pushed rows as a new file the source then reads", async () => {
      const src = await putSource([{ k: 9, t: 1, c: null }]);
      await h.store.append(src, SRC_COLS, [
        { driver_id: 9, event_timestamp: sec(2), created: null, rate: 7.5, trips: 70 },
      ]);
      const rows: Row[] = [];
      for await (const c of h.store.latestRows(
        src,
        {
          joinKeys: ["driver_id"],
          timestampField: "event_timestamp",
          features: ["trips"],
          endMs: sec(100).getTime(),
        },
        10,
      ))
        rows.push(...c);
      expect(rows.map((r) => r.trips)).toEqual([70]);
      expect((await h.store.describeSource(src)).map((c) => c.name)).toEqual(SRC_COLS.map((c) => c.name));
    });
  });
}
