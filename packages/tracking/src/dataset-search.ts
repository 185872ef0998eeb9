import { invalidParam } from "./errors";
import type { TrackingContext } from "./tracking-context";

/** The input tag that says what a dataset was used for ("training", "eval", ...). */
export const DATASET_CONTEXT_TAG = "mlflow.data.context";
/** MLflow's bounds for `experiments/search-datasets`. */
export const DATASET_SEARCH = { maxExperimentIds: 20, maxResults: 1000 } as const;

export interface DatasetSummary {
  experiment_id: string;
  name: string;
  digest: string;
  context?: string;
}

/**
 * MLflow's `search_datasets`: the distinct (experiment, dataset name, digest, context) of the
 * dataset inputs logged to the runs of up to 20 experiments, at most 1000. The context is the
 * input's `mlflow.data.context` tag, absent when the input has none.
 */
export async function searchDatasets(
  ctx: TrackingContext,
  experimentIds: string[] | undefined,
): Promise<{ dataset_summaries: DatasetSummary[] }> {
  const ids = experimentIds ?? [];
  if (ids.length === 0) {
    throw invalidParam("SearchDatasets request must specify at least one experiment_id.");
  }
  if (ids.length > DATASET_SEARCH.maxExperimentIds) {
    throw invalidParam(
      `SearchDatasets request cannot specify more than ${DATASET_SEARCH.maxExperimentIds}` +
        ` experiment_ids. Received ${ids.length} experiment_ids.`,
    );
  }
  const seen = new Map<string, DatasetSummary>();
  for (const experimentId of [...new Set(ids)]) {
    for (const run of await ctx.runs.listByExperiment(experimentId)) {
      const inputs = Object.values(run.inputs).sort((a, b) => a.seq - b.seq);
      for (const input of inputs) {
        const context = input.tags?.find((t) => t.key === DATASET_CONTEXT_TAG)?.value;
        const summary = {
          experiment_id: experimentId,
          name: input.dataset.name,
          digest: input.dataset.digest,
        };
        const id = JSON.stringify([experimentId, summary.name, summary.digest, context ?? null]);
        if (!seen.has(id)) seen.set(id, context === undefined ? summary : { ...summary, context });
        if (seen.size >= DATASET_SEARCH.maxResults) return { dataset_summaries: [...seen.values()] };
      }
    }
  }
  return { dataset_summaries: [...seen.values()] };
}
