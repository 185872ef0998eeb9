import type { PromotionRecord } from "./governance";
import type { DeploymentRef, RunRecord } from "./ports";
import type { ModelVersionView } from "./records";

/**
 * Conventions for what a run records about its data (the features and pipelines areas write them):
 * - the pipeline run that produced the model: run tag `keel.pipeline.runId`;
 * - feature views behind a dataset input (or the whole run): tag `keel.feature_views`,
 *   a comma-separated list of `name:version`.
 */
export const PIPELINE_RUN_TAG = "keel.pipeline.runId";
export const FEATURE_VIEWS_TAG = "keel.feature_views";

export type LineageNodeType =
  | "model_version"
  | "run"
  | "experiment"
  | "dataset"
  | "feature_view"
  | "pipeline_run"
  | "promotion"
  | "deployment"
  | "validation"
  | "reproducibility";

export interface LineageNode {
  id: string;
  type: LineageNodeType;
  label: string;
  attributes: Record<string, unknown>;
}

export interface LineageEdge {
  from: string;
  to: string;
  /** Reads "from <relation> to", e.g. run produced model_version. */
  relation: string;
}

export interface LineageGraph {
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** Why parts of the graph are missing (no tracking service, run deleted...). */
  notes: string[];
}

const tagValue = (tags: Array<{ key: string; value: string }> | undefined, key: string) =>
  tags?.find((t) => t.key === key)?.value;

function featureViews(value: string | undefined): Array<{ name: string; version: string }> {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const i = s.lastIndexOf(":");
      return i > 0 ? { name: s.slice(0, i), version: s.slice(i + 1) } : { name: s, version: "" };
    });
}

/** Tags of a training run that record the validation of its data (`@keel/validation`). */
const VALIDATION_RESULT = "keel.validation.result.";
/** Tags of a run's reproducibility record (`@keel/core` reproducibility). */
const REPRO = "keel.repro.";

/** The validation results and the reproducibility record a training run carries, as nodes. */
function linkEvidence(
  add: (n: LineageNode) => string,
  edges: LineageEdge[],
  runId: string,
  tags: Array<{ key: string; value: string }>,
): void {
  for (const t of tags.filter((x) => x.key.startsWith(VALIDATION_RESULT))) {
    const suite = t.key.slice(VALIDATION_RESULT.length);
    let attributes: Record<string, unknown>;
    try {
      attributes = JSON.parse(t.value);
    } catch {
      attributes = { summary: t.value };
    }
    const id = add({ id: `validation:${runId}:${suite}`, type: "validation", label: suite, attributes });
    edges.push({ from: id, to: runId, relation: "validated_input_of" });
  }
  const repro = tags.filter((x) => x.key.startsWith(REPRO));
  if (repro.length) {
    const id = add({
      id: `reproducibility:${runId}`,
      type: "reproducibility",
      label: "reproducibility record",
      attributes: Object.fromEntries(repro.map((x) => [x.key.slice(REPRO.length), x.value])),
    });
    edges.push({ from: id, to: runId, relation: "records" });
  }
}

/** Builds the graph of where a version came from and where it went, from records already read. */
export function buildLineage(input: {
  version: ModelVersionView;
  run?: RunRecord;
  runNote?: string;
  promotions: PromotionRecord[];
  deployments: DeploymentRef[];
}): LineageGraph {
  const { version: v, run } = input;
  const nodes = new Map<string, LineageNode>();
  const edges: LineageEdge[] = [];
  const notes: string[] = input.runNote ? [input.runNote] : [];
  const add = (n: LineageNode) => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
    return n.id;
  };
  const root = add({
    id: `model_version:${v.name}/${v.version}`,
    type: "model_version",
    label: `${v.name} v${v.version}`,
    attributes: { stage: v.currentStage, aliases: v.aliases, source: v.source, created_by: v.userId },
  });
  if (run) {
    const info = run.run.info;
    const runId = add({
      id: `run:${info.run_id}`,
      type: "run",
      label: info.run_name ?? info.run_id,
      attributes: {
        run_id: info.run_id,
        user_id: info.user_id,
        status: info.status,
        params: Object.fromEntries((run.run.data.params ?? []).map((p) => [p.key, p.value])),
        metrics: Object.fromEntries((run.run.data.metrics ?? []).map((m) => [m.key, m.value])),
      },
    });
    edges.push({ from: runId, to: root, relation: "produced" });
    const exp = add({
      id: `experiment:${info.experiment_id}`,
      type: "experiment",
      label: info.experiment_id,
      attributes: {},
    });
    edges.push({ from: runId, to: exp, relation: "belongs_to" });
    const pipelineRun = tagValue(run.run.data.tags, PIPELINE_RUN_TAG);
    if (pipelineRun) {
      const p = add({
        id: `pipeline_run:${pipelineRun}`,
        type: "pipeline_run",
        label: pipelineRun,
        attributes: {},
      });
      edges.push({ from: p, to: runId, relation: "ran" });
    }
    const linkViews = (target: string, tagged: string | undefined) => {
      for (const fv of featureViews(tagged)) {
        const id = add({
          id: `feature_view:${fv.name}:${fv.version}`,
          type: "feature_view",
          label: fv.version ? `${fv.name} v${fv.version}` : fv.name,
          attributes: { name: fv.name, version: fv.version },
        });
        edges.push({ from: id, to: target, relation: "fed" });
      }
    };
    linkViews(runId, tagValue(run.run.data.tags, FEATURE_VIEWS_TAG));
    linkEvidence(add, edges, runId, run.run.data.tags ?? []);
    for (const di of run.run.inputs?.dataset_inputs ?? []) {
      const d = di.dataset;
      const id = add({
        id: `dataset:${d.name}:${d.digest}`,
        type: "dataset",
        label: d.name,
        attributes: {
          digest: d.digest,
          source_type: d.source_type,
          source: d.source,
          context: tagValue(di.tags, "mlflow.data.context"),
        },
      });
      edges.push({ from: id, to: runId, relation: "input_to" });
      linkViews(id, tagValue(di.tags, FEATURE_VIEWS_TAG));
    }
  }
  for (const p of input.promotions) {
    const id = add({
      id: `promotion:${p.id}`,
      type: "promotion",
      label: `${p.status} ${p.target.kind === "stage" ? p.target.stage : `@${p.target.alias}`}`,
      attributes: {
        status: p.status,
        target: p.target,
        requester: p.requester,
        reviewer: p.reviewer,
        requested_at: p.requestedAt,
        reviewed_at: p.reviewedAt,
        auto_approved: p.autoApproved ?? false,
      },
    });
    edges.push({ from: id, to: root, relation: "governs" });
  }
  for (const d of input.deployments) {
    const id = add({ id: `deployment:${d.name}`, type: "deployment", label: d.name, attributes: { ...d } });
    edges.push({ from: root, to: id, relation: "deployed_to" });
  }
  return { root, nodes: [...nodes.values()], edges, notes };
}
