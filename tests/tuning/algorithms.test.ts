import {
  AshaRule,
  branin,
  choice,
  GridSearch,
  intRange,
  logUniform,
  MedianStoppingRule,
  type Observation,
  type Params,
  RandomSearch,
  type SearchAlgorithm,
  type Space,
  TpeSearch,
  type TrialProgress,
  uniform,
  validateSpace,
} from "@keel/tuning";
import { describe, expect, it } from "vitest";

/** A space with every kind of parameter and a conditional pair. */
const space: Space = {
  lr: logUniform(1e-4, 1e-1),
  depth: intRange(2, 10),
  booster: choice(["gbdt", "dart", "linear"]),
  dropRate: uniform(0, 0.5, { when: { booster: "dart" } }),
  leaves: intRange(4, 64, { log: true, when: { booster: ["gbdt", "dart"] } }),
};

const objective = (p: Params) =>
  Math.abs(Math.log10(p.lr as number) + 2) +
  Math.abs((p.depth as number) - 6) / 4 +
  (p.booster === "dart" ? 0 : 1.5);

/** Runs an algorithm sequentially for n trials on a loss function; returns every trial. */
function tune(
  algo: SearchAlgorithm,
  s: Space,
  loss: (p: Params) => number,
  n: number,
  seed = 1,
): Observation[] {
  const history: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const [params] = algo.suggest({ space: s, history, numbers: [i], seed });
    if (!params) break;
    history.push({ number: i, params, status: "COMPLETED", loss: loss(params) });
  }
  return history;
}

function checkInSpace(p: Params) {
  expect(p.lr).toBeGreaterThanOrEqual(1e-4);
  expect(p.lr).toBeLessThanOrEqual(1e-1);
  expect(Number.isInteger(p.depth)).toBe(true);
  expect(p.depth).toBeGreaterThanOrEqual(2);
  expect(p.depth).toBeLessThanOrEqual(10);
  expect(["gbdt", "dart", "linear"]).toContain(p.booster);
  expect("dropRate" in p).toBe(p.booster === "dart");
  expect("leaves" in p).toBe(p.booster !== "linear");
  if ("leaves" in p) {
    expect(Number.isInteger(p.leaves)).toBe(true);
    expect(p.leaves).toBeGreaterThanOrEqual(4);
    expect(p.leaves).toBeLessThanOrEqual(64);
  }
}

// The shared suite every SearchAlgorithm adapter passes.
describe.each([
  ["grid", () => new GridSearch(3)],
  ["random", () => new RandomSearch()],
  ["tpe", () => new TpeSearch({ startupTrials: 5 })],
])("SearchAlgorithm: %s", (_name, make) => {
  it("is deterministic for a seed, history and trial numbers", () => {
    const a = tune(make(), space, objective, 30, 7);
    const b = tune(make(), space, objective, 30, 7);
    expect(b.map((o) => o.params)).toEqual(a.map((o) => o.params));
    const history = a.slice(0, 20);
    const req = { space, history, numbers: [20, 21, 22], seed: 7 };
    expect(make().suggest(req)).toEqual(make().suggest(req));
  });

  it("suggests only values inside the space, with conditional parameters exactly where active", () => {
    const trials = tune(make(), space, objective, 40);
    expect(trials.length).toBeGreaterThan(0);
    for (const t of trials) checkInSpace(t.params);
  });

  it("answers at most as many suggestions as trial numbers asked for", () => {
    const out = make().suggest({ space, history: [], numbers: [0, 1, 2, 3], seed: 3 });
    expect(out.length).toBeLessThanOrEqual(4);
    expect(out.length).toBeGreaterThan(0);
  });
});

describe("random and TPE", () => {
  it("give a trial the same suggestion however the batch around it was asked for", () => {
    for (const algo of [new RandomSearch(), new TpeSearch({ startupTrials: 3 })]) {
      const history = tune(algo, space, objective, 10, 4);
      const batch = algo.suggest({ space, history, numbers: [10, 11, 12], seed: 4 });
      const single = algo.suggest({ space, history, numbers: [11], seed: 4 });
      expect(single[0]).toEqual(batch[1]);
    }
  });

  it("a different seed gives different suggestions", () => {
    const a = new RandomSearch().suggest({ space, history: [], numbers: [0, 1], seed: 1 });
    const b = new RandomSearch().suggest({ space, history: [], numbers: [0, 1], seed: 2 });
    expect(a).not.toEqual(b);
  });
});

describe("TPE", () => {
  const bowl: Space = { x: uniform(-2, 2), y: uniform(-2, 2) };
  const dist = (p: Params) => Math.hypot((p.x as number) - 0.7, (p.y as number) + 0.3);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  it("concentrates its suggestions near the optimum of a simple function", () => {
    const tpe = tune(new TpeSearch(), bowl, dist, 80);
    const random = tune(new RandomSearch(), bowl, dist, 80);
    const lateTpe = median(tpe.slice(-30).map((o) => dist(o.params)));
    const lateRandom = median(random.slice(-30).map((o) => dist(o.params)));
    expect(lateTpe).toBeLessThan(0.35);
    expect(lateTpe).toBeLessThan(lateRandom / 3);
    expect(Math.min(...tpe.map((o) => o.loss!))).toBeLessThan(0.1);
  });

  it("learns a categorical and a log-scaled parameter", () => {
    const trials = tune(new TpeSearch(), space, objective, 80);
    const late = trials.slice(-30);
    expect(late.filter((o) => o.params.booster === "dart").length).toBeGreaterThan(18);
    expect(median(late.map((o) => Math.abs(Math.log10(o.params.lr as number) + 2)))).toBeLessThan(0.5);
  });

  it("beats random search on Branin after 50 trials (same seed)", () => {
    const f = (p: Params) => branin.f(p as Record<string, number>);
    const bestOf = (h: Observation[]) => Math.min(...h.map((o) => o.loss!));
    let tpeWins = 0;
    for (let seed = 0; seed < 5; seed++)
      if (
        bestOf(tune(new TpeSearch(), branin.space, f, 50, seed)) <
        bestOf(tune(new RandomSearch(), branin.space, f, 50, seed))
      )
        tpeWins++;
    expect(tpeWins).toBeGreaterThanOrEqual(4);
  });
});

describe("grid search", () => {
  it("enumerates every combination once, expanding conditional parameters only where active, then stops", () => {
    const s: Space = { a: choice(["x", "y"]), b: intRange(1, 3, { when: { a: "y" } }), c: uniform(0, 1) };
    const grid = new GridSearch(3);
    const trials = tune(grid, s, () => 0, 100);
    // a=x: c in {0, 0.5, 1} -> 3; a=y: b in {1, 2, 3} x c -> 9.
    expect(trials).toHaveLength(12);
    expect(new Set(trials.map((t) => JSON.stringify(t.params))).size).toBe(12);
    expect(trials.filter((t) => "b" in t.params).every((t) => t.params.a === "y")).toBe(true);
    expect(grid.suggest({ space: s, history: trials, numbers: [12], seed: 0 })).toEqual([]);
  });
});

describe("ASHA", () => {
  const curve = (number: number, points: Array<[number, number]>, finished = false): TrialProgress => ({
    number,
    curve: points,
    finished,
  });

  it("has rungs at r, r*eta, ... below the full budget", () => {
    const asha = new AshaRule({ minBudget: 1, maxBudget: 27, reductionFactor: 3 });
    expect(asha.rungsOf(0)).toEqual([1, 3, 9]);
    const hb = new AshaRule({ minBudget: 1, maxBudget: 27, reductionFactor: 3, brackets: 3 });
    expect(hb.rungsOf(0)).toEqual([1, 3, 9]);
    expect(hb.rungsOf(1)).toEqual([3, 9]);
    expect(hb.rungsOf(2)).toEqual([9]);
    expect(hb.name).toBe("hyperband");
  });

  it("promotes the best 1/eta at a rung and stops the rest, deciding when a trial crosses the rung", () => {
    const asha = new AshaRule({ minBudget: 2, maxBudget: 18, reductionFactor: 3 });
    const others: TrialProgress[] = [];
    // The first trial at a rung is the best so far: it continues.
    expect(
      asha.shouldStop(
        curve(0, [
          [1, 0.5],
          [2, 0.4],
        ]),
        1,
        others,
      ),
    ).toBe(false);
    others.push(
      curve(
        0,
        [
          [1, 0.5],
          [2, 0.4],
          [6, 0.3],
        ],
        true,
      ),
    );
    // Fewer than eta at the rung: only a trial better than all continues.
    expect(asha.shouldStop(curve(1, [[2, 0.6]]), 0, others)).toBe(true);
    expect(asha.shouldStop(curve(1, [[2, 0.3]]), 0, others)).toBe(false);
    // Before the rung, nothing is decided; once past it, the decision was made.
    expect(asha.shouldStop(curve(2, [[1, 9]]), 0, others)).toBe(false);
    expect(
      asha.shouldStop(
        curve(2, [
          [2, 9],
          [3, 9],
        ]),
        2,
        others,
      ),
    ).toBe(false);
    // Six at the rung: the best two (floor(6/3)) continue.
    for (const [n, v] of [
      [3, 0.2],
      [4, 0.25],
      [5, 0.7],
      [6, 0.8],
      [7, 0.9],
    ] as const)
      others.push(curve(n, [[2, v]], true));
    expect(asha.shouldStop(curve(8, [[2, 0.22]]), 0, others)).toBe(false);
    expect(asha.shouldStop(curve(9, [[2, 0.26]]), 0, others)).toBe(true);
    // At the second rung (6) only peers that reached it compete.
    // Trial 0 reached it with 0.3: two competing, so only the better one continues.
    expect(
      asha.shouldStop(
        curve(8, [
          [2, 0.22],
          [6, 0.35],
        ]),
        2,
        others,
      ),
    ).toBe(true);
    expect(
      asha.shouldStop(
        curve(8, [
          [2, 0.22],
          [6, 0.25],
        ]),
        2,
        others,
      ),
    ).toBe(false);
  });

  it("compares a Hyperband trial only with its own bracket", () => {
    const hb = new AshaRule({ minBudget: 1, maxBudget: 9, reductionFactor: 3, brackets: 2 });
    const others = [
      curve(
        0,
        [
          [1, 0.1],
          [3, 0.1],
        ],
        true,
      ),
    ];
    // Trial 1 is in bracket 1 (first rung 3): trial 0 is not its peer.
    expect(hb.shouldStop(curve(1, [[3, 0.9]]), 0, others)).toBe(false);
    expect(hb.shouldStop(curve(2, [[1, 0.9]]), 0, others)).toBe(true);
  });
});

describe("median stopping", () => {
  const rule = new MedianStoppingRule({ warmupSteps: 2, minTrials: 3 });
  const done = (n: number, values: number[]): TrialProgress => ({
    number: n,
    curve: values.map((v, i) => [i + 1, v] as [number, number]),
    finished: true,
  });
  const others = [done(0, [1, 0.8, 0.6, 0.5]), done(1, [1, 0.7, 0.5, 0.4]), done(2, [1, 0.9, 0.8, 0.7])];

  it("stops a trial whose best is worse than the median running average, after warm-up", () => {
    const worse = {
      number: 3,
      curve: [
        [1, 1.5],
        [2, 1.4],
        [3, 1.3],
      ] as Array<[number, number]>,
      finished: false,
    };
    expect(rule.shouldStop({ ...worse, curve: worse.curve.slice(0, 1) }, 0, others)).toBe(false);
    expect(rule.shouldStop(worse, 2, others)).toBe(true);
    const better = {
      number: 4,
      curve: [
        [1, 0.9],
        [2, 0.6],
        [3, 0.5],
      ] as Array<[number, number]>,
      finished: false,
    };
    expect(rule.shouldStop(better, 2, others)).toBe(false);
  });

  it("does nothing until enough trials reached the step", () => {
    const worse = {
      number: 3,
      curve: [
        [1, 5],
        [2, 5],
        [3, 5],
      ] as Array<[number, number]>,
      finished: false,
    };
    expect(rule.shouldStop(worse, 2, others.slice(0, 2))).toBe(false);
  });
});

describe("search spaces", () => {
  it("refuse bad bounds and conditions on unknown or later parameters", () => {
    expect(() => validateSpace({ a: logUniform(0, 1) })).toThrow(/low > 0/);
    expect(() => validateSpace({ a: uniform(1, 1) })).toThrow(/low < high/);
    expect(() => validateSpace({ a: uniform(0, 1, { when: { b: "x" } }), b: choice(["x"]) })).toThrow(
      /earlier/,
    );
    expect(() => validateSpace({ a: choice([]) })).toThrow(/at least one/);
  });
});
