import { invalidParam, missingParam, paramSchemaError } from "./errors";
import { LIMITS } from "./validation";

export interface StepRange {
  start?: number;
  end?: number;
}

/**
 * Checks a get-history-bulk-interval request the way MLflow's handler does, before any run is
 * read: the run count, a metric key, `max_results` within [1, 2500] (default 2500), and both
 * ends of a step range or neither.
 */
export function checkBulkIntervalRequest(
  runIds: string[],
  metricKey: string,
  maxResults: number | undefined,
  range: StepRange,
): number {
  if (runIds.length === 0) throw missingParam("run_ids");
  if (runIds.length > LIMITS.maxBulkIntervalRuns) {
    throw paramSchemaError(
      `GetMetricHistoryBulkInterval request must specify at most ${LIMITS.maxBulkIntervalRuns} run_ids.` +
        ` Received ${runIds.length} run_ids.`,
    );
  }
  if (metricKey === "") throw missingParam("metric_key");
  const max = maxResults ?? LIMITS.maxBulkIntervalResults;
  if (max < 1 || max > LIMITS.maxBulkIntervalResults) {
    throw paramSchemaError(`max_results must be between 1 and ${LIMITS.maxBulkIntervalResults}.`);
  }
  if (range.start !== undefined && range.end !== undefined) {
    if (range.start > range.end) {
      throw invalidParam(
        `end_step must be greater than start_step. Found start_step=${range.start} and end_step=${range.end}.`,
      );
    }
  } else if (range.start !== undefined || range.end !== undefined) {
    throw invalidParam("If either start step or end step are specified, both must be specified.");
  }
  return max;
}

/** Index of the first item >= x (Python's bisect_left) or > x (bisect_right) in a sorted list. */
function bisect(sorted: number[], x: number, right: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x || (right && sorted[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** MLflow's `_get_sampled_steps_from_steps`: every `num/max`-th step of the range, plus its last. */
function sampledStepsFromSteps(start: number, end: number, max: number, allSteps: number[]): Set<number> {
  const startIdx = bisect(allSteps, start, false);
  const endIdx = bisect(allSteps, end, true);
  if (endIdx - startIdx <= max) return new Set(allSteps.slice(startIdx, endIdx));
  const numSteps = endIdx - startIdx;
  const interval = numSteps / max;
  const out = new Set<number>();
  for (let i = 0; i < max; i++) {
    const idx = startIdx + Math.trunc(i * interval);
    if (idx < numSteps) out.add(allSteps[idx]);
  }
  out.add(allSteps[endIdx - 1]);
  return out;
}

/**
 * The steps MLflow returns for several runs' histories (`_get_sampled_steps`): a sample of the
 * union of all runs' steps within the range (default 0 to the last step), plus each run's first
 * and last step when they fall within the range, sorted.
 */
export function sampledSteps(runsSteps: number[][], max: number, range: StepRange): number[] {
  const allSteps = [...new Set(runsSteps.flat())].sort((a, b) => a - b);
  const start = range.start ?? 0;
  const end = range.end ?? (allSteps.length ? allSteps[allSteps.length - 1] : 0);
  const edges = runsSteps
    .filter((steps) => steps.length)
    .flatMap((steps) => [steps.reduce((a, b) => Math.min(a, b)), steps.reduce((a, b) => Math.max(a, b))])
    .filter((s) => start <= s && s <= end);
  const out = sampledStepsFromSteps(start, end, max, allSteps);
  for (const s of edges) out.add(s);
  return [...out].sort((a, b) => a - b);
}
