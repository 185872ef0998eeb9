import type { ObjectiveFunction } from "../definition";
import type { TrialRunner } from "../trial-runner";

/** A trial that is a plain function of its parameters. */
export function functionRunner(fn: ObjectiveFunction): TrialRunner {
  return { run: async (ctx) => ({ metrics: await fn(ctx.params, ctx) }) };
}
