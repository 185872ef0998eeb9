import type { ArtifactStore } from "@keel/artifacts";
import { BASELINE_PROFILE_ARTIFACT, type BaselineProfile, baselineProfileSchema } from "@keel/model-format";
import { MonitoringError } from "./errors";

/** The model a deployment served in the drift window (from the prediction log). */
export interface ServedModel {
  model: string;
  version: string;
}

/**
 * Where the drift job finds a deployment's training baseline (the `baseline/profile.json`
 * the built-in trainer logs with each run).
 */
export interface BaselineReader {
  /**
   * The training profile of the model the deployment serves (`served` is the most recent
   * model/version in the prediction log, when there is one). Resolves undefined when the
   * deployment or its model has no baseline; throws only for storage failures or a corrupt
   * profile.
   */
  baselineFor(deployment: string, served?: ServedModel): Promise<BaselineProfile | undefined>;
}

/**
 * A BaselineReader over an ArtifactStore: `locate` maps a deployment (and the model version
 * it serves) to the artifact path of its profile, e.g. `<experiment>/<run>/artifacts/baseline/profile.json`
 * from the model version's source run.
 */
export function artifactBaselineReader(
  artifacts: ArtifactStore,
  locate: (deployment: string, served?: ServedModel) => Promise<string | undefined>,
): BaselineReader {
  return {
    async baselineFor(deployment, served) {
      const path = await locate(deployment, served);
      if (!path || !(await artifacts.exists(path))) return undefined;
      const parsed = baselineProfileSchema.safeParse(
        JSON.parse((await artifacts.getBytes(path)).toString("utf8")),
      );
      if (!parsed.success) {
        throw new MonitoringError(
          "INVALID_STATE",
          `baseline profile '${path}' is malformed: ${parsed.error.issues[0]?.message}`,
        );
      }
      return parsed.data;
    },
  };
}

/** The run that trained a model version, as the registry and tracking know it. */
export interface TrainingRun {
  experimentId: string;
  runId: string;
}

/**
 * Where a run's training profile lives in the artifact store: the built-in trainer logs it as
 * `baseline/profile.json` among the run's artifacts (`<experiment>/<run>/artifacts/...`).
 * Monitoring owns this path; the platform only says which run trained a version.
 */
export const runProfilePath = (run: TrainingRun): string =>
  `${run.experimentId}/${run.runId}/artifacts/${BASELINE_PROFILE_ARTIFACT}`;

/**
 * A BaselineReader whose baseline is the profile logged by the run that trained the served
 * model version (`runOf` resolves that run; undefined when it is unknown).
 */
export function runBaselineReader(
  artifacts: ArtifactStore,
  runOf: (served: ServedModel) => Promise<TrainingRun | undefined>,
): BaselineReader {
  return artifactBaselineReader(artifacts, async (_deployment, served) => {
    if (!served) return undefined;
    const run = await runOf(served);
    return run ? runProfilePath(run) : undefined;
  });
}
