import { createLogger, systemClock } from "@keel/core";
import {
  branin,
  defineTuning,
  functionRunner,
  type ObjectiveFunction,
  type TrialRecord,
  TuningController,
  TuningStore,
  uniform,
} from "@keel/tuning";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";

let db: Awaited<ReturnType<typeof freshMetadataStore>>;
let store: TuningStore;
const log = createLogger("error");
const controller = () => new TuningController({ store, clock: systemClock, log, pollMs: 20 });

beforeAll(async () => {
  db = await freshMetadataStore();
  store = new TuningStore(db.store);
});
afterAll(async () => db?.close());

const braninFn: ObjectiveFunction = async (p) => {
  await new Promise((r) => setTimeout(r, 2));
  return { loss: branin.f(p as Record<string, number>) };
};

const tuning = (name: string, extra: Partial<Parameters<typeof defineTuning>[0]> = {}) =>
  defineTuning({
    name,
    run: braninFn,
    parameters: branin.space,
    objective: { metric: "loss", goal: "minimize" },
    algorithm: "tpe",
    maxTrials: 16,
    parallelTrials: 3,
    seed: 5,
    ...extra,
  });

const numbers = (trials: TrialRecord[]) => trials.map((t) => t.number);

describe("the tuning controller", () => {
  it("runs maxTrials trials, at most parallelTrials at once, and records the best", async () => {
    let inFlight = 0;
    let peak = 0;
    // The first three trials wait for each other: they only finish if three run at once.
    let release = () => {};
    const allThree = new Promise<void>((r) => {
      release = r;
    });
    const def = tuning("plain", {
      run: async (p, ctx) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        if (inFlight === 3) release();
        await (ctx.number < 3
          ? Promise.race([allThree, new Promise((r) => setTimeout(r, 3000))])
          : new Promise((r) => setTimeout(r, 2)));
        inFlight--;
        return { loss: branin.f(p as Record<string, number>) };
      },
    });
    const exp = await controller().run(def.spec, { runner: functionRunner(def.run!) });
    const trials = await store.trials("plain");
    expect(exp.status).toBe("SUCCEEDED");
    expect(numbers(trials)).toEqual([...Array(16).keys()]);
    expect(trials.every((t) => t.status === "COMPLETED")).toBe(true);
    expect(peak).toBe(3);
    const best = Math.min(...trials.map((t) => t.value!));
    expect(exp.best?.value).toBe(best);
    expect(exp.best?.params).toEqual(trials.find((t) => t.value === best)?.params);
  });

  it("resumes after a crash: interrupted trials run again, nothing is lost or repeated, suggestions are as recorded", async () => {
    const halt = new AbortController();
    let started = 0;
    // The first controller "crashes" once 7 trials have started: 3 are left RUNNING in the store.
    const hanging: ObjectiveFunction = async (p) => {
      if (++started > 4) {
        if (started === 7) setTimeout(() => halt.abort(), 30);
        return new Promise(() => undefined);
      }
      return braninFn(p, undefined as never);
    };
    const def = tuning("crashy");
    const first = controller().run(def.spec, { runner: functionRunner(hanging), halt: halt.signal });
    await first;
    const before = await store.trials("crashy");
    expect(before.filter((t) => t.status === "RUNNING").length).toBe(3);
    expect(before.filter((t) => t.status === "COMPLETED").length).toBe(4);
    const recorded = new Map(before.map((t) => [t.number, t.params]));

    // A fresh controller (a restarted process) over the same store.
    const exp = await controller().run(def.spec, { runner: functionRunner(braninFn), resume: true });
    const after = await store.trials("crashy");
    expect(exp.status).toBe("SUCCEEDED");
    expect(numbers(after)).toEqual([...Array(16).keys()]);
    expect(after.every((t) => t.status === "COMPLETED")).toBe(true);
    for (const [n, params] of recorded) expect(after[n].params).toEqual(params);
    for (const t of before.filter((x) => x.status === "RUNNING")) expect(after[t.number].attempts).toBe(2);
    // Same seed, no crash: the same first suggestions (the random start-up phase is per trial number).
    const clean = tuning("clean");
    await controller().run(clean.spec, { runner: functionRunner(braninFn) });
    const cleanTrials = await store.trials("clean");
    expect(cleanTrials.slice(0, 7).map((t) => t.params)).toEqual(after.slice(0, 7).map((t) => t.params));
  });

  it("retries a failing trial, then records it FAILED with its error", async () => {
    const attempts = new Map<number, number>();
    const def = tuning("flaky", {
      maxTrials: 4,
      parallelTrials: 2,
      maxRetries: 1,
      run: async (p, ctx) => {
        attempts.set(ctx.number, (attempts.get(ctx.number) ?? 0) + 1);
        if (ctx.number === 1) throw new Error("disk full");
        if (ctx.number === 2 && ctx.attempt === 1) throw new Error("transient");
        return { loss: branin.f(p as Record<string, number>) };
      },
    });
    const exp = await controller().run(def.spec, { runner: functionRunner(def.run!) });
    const trials = await store.trials("flaky");
    expect(exp.status).toBe("SUCCEEDED");
    expect(trials.map((t) => t.status)).toEqual(["COMPLETED", "FAILED", "COMPLETED", "COMPLETED"]);
    expect(trials[1]).toMatchObject({ attempts: 2, error: "disk full" });
    expect(trials[2].attempts).toBe(2);
    expect(attempts.get(1)).toBe(2);
  });

  it("stops a running experiment (trials STOPPED) and resume finishes it", async () => {
    const c = controller();
    const def = tuning("stoppable", {
      maxTrials: 6,
      parallelTrials: 2,
      run: async (p, ctx) => {
        for (let step = 1; step <= 50; step++) {
          if (ctx.signal.aborted) throw new Error("aborted");
          await new Promise((r) => setTimeout(r, 5));
          ctx.report(step, { loss: 100 - step });
        }
        return { loss: branin.f(p as Record<string, number>) };
      },
    });
    const running = c.run(def.spec, { runner: functionRunner(def.run!) });
    await new Promise((r) => setTimeout(r, 60));
    await c.stop("stoppable");
    const stopped = await running;
    expect(stopped.status).toBe("STOPPED");
    const trials = await store.trials("stoppable");
    expect(trials.some((t) => t.status === "STOPPED")).toBe(true);
    expect(trials.every((t) => t.status !== "RUNNING")).toBe(true);

    const resumed = await controller().run(def.spec, { runner: functionRunner(def.run!), resume: true });
    expect(resumed.status).toBe("SUCCEEDED");
    const done = await store.trials("stoppable");
    expect(done).toHaveLength(6);
    expect(done.every((t) => t.status === "COMPLETED")).toBe(true);
  });

  it("refuses to start a second experiment with the same name", async () => {
    const def = tuning("plain");
    await expect(controller().run(def.spec, { runner: functionRunner(braninFn) })).rejects.toThrow(
      /already exists/,
    );
  });

  it("ASHA stops laggards at the rungs and marks them EARLY_STOPPED", async () => {
    const def = defineTuning({
      name: "curves",
      // Loss curves that decay towards x; ASHA keeps the trials with low x going.
      run: async (p, ctx) => {
        const x = p.x as number;
        let loss = 1;
        for (let step = 1; step <= 27; step++) {
          loss = x + 1 / step;
          if (ctx.report(step, { loss })) return { loss };
          await new Promise((r) => setImmediate(r));
        }
        return { loss };
      },
      parameters: { x: uniform(0, 1) },
      objective: { metric: "loss", goal: "minimize" },
      algorithm: "asha",
      earlyStopping: { rule: "asha", minBudget: 1, maxBudget: 27, reductionFactor: 3 },
      maxTrials: 18,
      parallelTrials: 3,
      seed: 2,
    });
    const exp = await controller().run(def.spec, { runner: functionRunner(def.run!) });
    const trials = await store.trials("curves");
    const stopped = trials.filter((t) => t.status === "EARLY_STOPPED");
    const completed = trials.filter((t) => t.status === "COMPLETED");
    expect(stopped.length).toBeGreaterThan(6);
    expect(completed.length).toBeGreaterThan(0);
    for (const t of stopped) expect([1, 3, 9]).toContain(t.stoppedAt);
    for (const t of stopped) expect(t.curve.at(-1)![0]).toBe(t.stoppedAt);
    // The best configuration ran to the full budget.
    expect(exp.best?.number).toBe(
      completed.reduce((a, b) => ((a.params.x as number) < (b.params.x as number) ? a : b)).number,
    );
  });
});
