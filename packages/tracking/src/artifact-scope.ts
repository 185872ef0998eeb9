import type { ArtifactStore } from "@keel/artifacts";
import { invalidParam } from "./errors";
import { DEFAULT_EXPERIMENT_ID, type ExperimentRecord } from "./experiment-store";
import type { TrackingContext } from "./tracking-context";

const MLFLOW_ARTIFACTS = "mlflow-artifacts:";

/**
 * The ArtifactStore path an artifact URI names: `mlflow-artifacts:/<path>` (or with a host,
 * `mlflow-artifacts://host/<path>`) or a URI under the store's root. Undefined for a location
 * outside the store.
 */
export function storePathOf(uri: string, store: ArtifactStore): string | undefined {
  const trim = (p: string) => p.replace(/^\/+|\/+$/g, "");
  if (uri.startsWith(MLFLOW_ARTIFACTS)) {
    const rest = uri.slice(MLFLOW_ARTIFACTS.length);
    return trim(rest.startsWith("//") ? rest.slice(rest.indexOf("/", 2) + 1 || rest.length) : rest);
  }
  const root = store.uri("").replace(/\/+$/, "");
  return uri.startsWith(`${root}/`) ? trim(uri.slice(root.length + 1)) : undefined;
}

/** An experiment that exists and is active (traces and logged models are written only there). */
export async function activeExperiment(ctx: TrackingContext, id: string): Promise<ExperimentRecord> {
  if (id === DEFAULT_EXPERIMENT_ID) await ctx.ensureDefaultExperiment();
  const exp = await ctx.experiments.mustGet(id);
  if (exp.lifecycleStage !== "active") {
    throw invalidParam(
      `The experiment ${id} must be in the 'active' state. Current state is ${exp.lifecycleStage}.`,
    );
  }
  return exp;
}

/** `<base>/<parts...>` with one slash between. */
export const joinUri = (base: string, ...parts: string[]) => [base.replace(/\/+$/, ""), ...parts].join("/");
