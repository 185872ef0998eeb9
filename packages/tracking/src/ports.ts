/**
 * Runs whose recorded values a reviewer relies on: the source run of a model version with a
 * pending or approved promotion. The registry implements it; platform.ts wires it.
 */
export interface FrozenRuns {
  /** Why the run's metrics, params, tags and status may not change; undefined when they may. */
  isFrozen(runId: string): Promise<string | undefined>;
}
