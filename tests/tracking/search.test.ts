import { KeelClient } from "@keel/sdk";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * search-runs and search-experiments against a reference evaluator written here, over real
 * HTTP: random filters over a fixed population of runs must return exactly the runs the
 * reference picks, in the order the reference sorts them, across pages.
 */
interface RefRun {
  id: string;
  start: number;
  status: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

let p: Awaited<ReturnType<typeof startTestPlatform>>;
let keel: KeelClient;
let exp: string;
const runs: RefRun[] = [];
const PARAM_VALUES = ["a", "b", "ab", "B"];
const TAG_VALUES = ["red", "Red", "blue"];

beforeAll(async () => {
  p = await startTestPlatform();
  keel = new KeelClient({ url: p.url });
  exp = await keel.tracking.createExperiment("search");
  const rand = fc.sample(
    fc.record({
      m1: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }),
      m2: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      p: fc.option(fc.constantFrom(...PARAM_VALUES), { nil: undefined }),
      t: fc.option(fc.constantFrom(...TAG_VALUES), { nil: undefined }),
      finished: fc.boolean(),
    }),
    { numRuns: 40, seed: 42 },
  );
  for (const [i, r] of rand.entries()) {
    const run = await keel.tracking.createRun({ experiment_id: exp, start_time: 1000 + (i % 7) });
    const id = run.info.run_id;
    const metrics: Record<string, number> = {};
    if (r.m1 !== undefined) metrics.m1 = r.m1;
    if (r.m2 !== undefined) metrics.m2 = r.m2;
    const params: Record<string, string> = r.p === undefined ? {} : { p: r.p };
    const tags: Record<string, string> = r.t === undefined ? {} : { t: r.t };
    await keel.tracking.logBatch(id, {
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: 1, step: 0 })),
      params,
      tags,
    });
    if (r.finished) await keel.tracking.updateRun(id, { status: "FINISHED" });
    runs.push({
      id,
      start: 1000 + (i % 7),
      status: r.finished ? "FINISHED" : "RUNNING",
      metrics,
      params,
      tags,
    });
  }
});
afterAll(async () => {
  await p?.close();
});

type Ref = { text: string; test: (r: RefRun) => boolean };
const like = (pattern: string, flags: string) =>
  new RegExp(`^${pattern.replaceAll("%", ".*").replaceAll("_", ".")}$`, flags);

const metricClause: fc.Arbitrary<Ref> = fc
  .tuple(
    fc.constantFrom("m1", "m2"),
    fc.constantFrom("=", "!=", "<", "<=", ">", ">="),
    fc.integer({ min: -6, max: 6 }),
  )
  .map(([k, op, v]) => ({
    text: `metrics.${k} ${op} ${v}`,
    test: (r: RefRun) => {
      const x = r.metrics[k];
      if (x === undefined) return false;
      return { "=": x === v, "!=": x !== v, "<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v }[op]!;
    },
  }));

const stringClause = (entity: "params" | "tags", k: "p" | "t", values: string[]): fc.Arbitrary<Ref> =>
  fc
    .tuple(
      fc.constantFrom("=", "!=", "LIKE", "ILIKE", "IN"),
      fc.constantFrom(...values, "%", "a%", "r_d", "zzz"),
    )
    .map(([op, v]) => ({
      text: op === "IN" ? `${entity}.${k} IN ('${v}', 'zzz')` : `${entity}.${k} ${op} '${v}'`,
      test: (r: RefRun) => {
        const x = entity === "params" ? r.params[k] : r.tags[k];
        if (x === undefined) return false;
        if (op === "=") return x === v;
        if (op === "!=") return x !== v;
        if (op === "IN") return x === v || x === "zzz";
        return like(v, op === "ILIKE" ? "i" : "").test(x);
      },
    }));

const statusClause: fc.Arbitrary<Ref> = fc.constantFrom("FINISHED", "RUNNING").map((s) => ({
  text: `attributes.status = '${s}'`,
  test: (r: RefRun) => r.status === s,
}));

const anyClause = fc.oneof(
  metricClause,
  stringClause("params", "p", PARAM_VALUES),
  stringClause("tags", "t", TAG_VALUES),
  statusClause,
);

/** MLflow's default order: start_time DESC, then run_id. */
const defaultOrder = (a: RefRun, b: RefRun) => b.start - a.start || (a.id < b.id ? -1 : 1);

describe("search-runs", () => {
  it("returns exactly the runs a reference evaluator selects, in MLflow's default order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyClause, { minLength: 1, maxLength: 3 }), async (clauses) => {
        const filter = clauses.map((c) => c.text).join(" AND ");
        const page = await keel.tracking.searchRuns([exp], { filter });
        const expected = runs.filter((r) => clauses.every((c) => c.test(r))).sort(defaultOrder);
        expect(page.items.map((r) => r.info.run_id)).toEqual(expected.map((r) => r.id));
      }),
      { numRuns: 40 },
    );
  });

  it("orders by a metric with runs lacking it last, in both directions, across pages", async () => {
    for (const dir of ["ASC", "DESC"] as const) {
      const ids: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = await keel.tracking.searchRuns([exp], {
          orderBy: [`metrics.m1 ${dir}`],
          maxResults: 7,
          pageToken,
        });
        ids.push(...page.items.map((r) => r.info.run_id));
        pageToken = page.nextPageToken;
      } while (pageToken);
      const sign = dir === "ASC" ? 1 : -1;
      const expected = [...runs].sort((a, b) => {
        const x = a.metrics.m1;
        const y = b.metrics.m1;
        if (x === undefined || y === undefined)
          return x === y ? defaultOrder(a, b) : x === undefined ? 1 : -1;
        return sign * (x - y) || defaultOrder(a, b);
      });
      expect(ids).toEqual(expected.map((r) => r.id));
    }
  });

  it("orders by params and attributes, and page tokens do not carry over to another query", async () => {
    const page = await keel.tracking.searchRuns([exp], {
      orderBy: ["params.p DESC", "attributes.run_id"],
      maxResults: 3,
    });
    const withP = runs.filter((r) => r.params.p !== undefined);
    const expected = [...withP].sort((a, b) =>
      a.params.p < b.params.p ? 1 : a.params.p > b.params.p ? -1 : a.id < b.id ? -1 : 1,
    );
    expect(page.items.map((r) => r.info.run_id)).toEqual(expected.slice(0, 3).map((r) => r.id));
    const r = await p.call("POST", "/api/2.0/mlflow/runs/search", {
      experiment_ids: [exp],
      filter: "metrics.m1 > 0",
      page_token: page.nextPageToken,
    });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("search-experiments", () => {
  it("filters by name and tags, orders, paginates (POST and GET)", async () => {
    for (const [i, name] of ["alpha-1", "alpha-2", "beta"].entries()) {
      await keel.tracking.createExperiment(name, { tags: [{ key: "group", value: i < 2 ? "a" : "b" }] });
    }
    const byName = await keel.tracking.searchExperiments({
      filter: "name LIKE 'alpha%'",
      orderBy: ["name DESC"],
    });
    expect(byName.items.map((e) => e.name)).toEqual(["alpha-2", "alpha-1"]);
    const byTag = await keel.tracking.searchExperiments({ filter: "tags.group = 'b'" });
    expect(byTag.items.map((e) => e.name)).toEqual(["beta"]);
    const all: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await keel.tracking.searchExperiments({
        maxResults: 2,
        pageToken,
        orderBy: ["experiment_id ASC"],
      });
      all.push(...page.items.map((e) => e.experiment_id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(all).toEqual([
      "0",
      exp,
      ...byName.items.map((e) => e.experiment_id).reverse(),
      byTag.items[0].experiment_id,
    ]);
    const viaGet = await p.call(
      "GET",
      "/api/2.0/mlflow/experiments/search?filter=name%20%3D%20%27beta%27&max_results=5",
    );
    expect(viaGet.json.experiments.map((e: { name: string }) => e.name)).toEqual(["beta"]);
  });
});
