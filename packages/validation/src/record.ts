import type { ArtifactStore } from "@keel/artifacts";
import type { PipelineTracking } from "@keel/pipelines";
import type { ValidationReport } from "./evaluate";
import { renderValidationHtml, validationMetrics, validationSummary } from "./report";

/** Tags a validation's tracking run carries; a trained model's run carries `VALIDATION_TAG_PREFIX<suite>`. */
export const VALIDATION_TAG = {
  suite: "keel.validation.suite",
  dataset: "keel.validation.dataset",
  status: "keel.validation.status",
  report: "keel.validation.report",
} as const;
export const VALIDATION_TAG_PREFIX = "keel.validation.result.";

export interface RecordedValidation {
  reportUri: string;
  htmlUri: string;
  trackingRunId?: string;
  experimentId?: string;
}

/** The experiment named `name`, created when absent (concurrent creators agree). */
export async function experimentId(tracking: PipelineTracking, name: string): Promise<string> {
  const get = async () => {
    const r = await tracking.getExperimentByName(name);
    return "experiment" in r ? r.experiment.experiment_id : r.experiment_id;
  };
  try {
    return await get();
  } catch (e) {
    if ((e as { code?: string }).code !== "RESOURCE_DOES_NOT_EXIST") throw e;
    try {
      return (await tracking.createExperiment({ name })).experiment_id;
    } catch (again) {
      if ((again as { code?: string }).code !== "RESOURCE_ALREADY_EXISTS") throw again;
      return get();
    }
  }
}

/**
 * Records a validation: with tracking, as a run in the experiment `validation/<suite>` (its
 * metrics, tags and the JSON and HTML report among its artifacts); without, the reports
 * under `validation/<suite>/<time>/` in the artifact store.
 */
export async function recordValidation(
  deps: { artifacts: ArtifactStore; tracking?: PipelineTracking },
  report: ValidationReport,
  tags: Record<string, string> = {},
): Promise<RecordedValidation> {
  const { artifacts, tracking } = deps;
  let prefix = `validation/${report.suite}/${report.evaluatedAt}`;
  let run: { trackingRunId: string; experimentId: string } | undefined;
  if (tracking) {
    const exp = await experimentId(tracking, `validation/${report.suite}`);
    const created = await tracking.createRun({
      experiment_id: exp,
      run_name: `${report.suite}-${new Date(report.evaluatedAt).toISOString()}`,
      start_time: report.evaluatedAt,
      tags: Object.entries({
        ...tags,
        [VALIDATION_TAG.suite]: report.suite,
        [VALIDATION_TAG.dataset]: report.dataset.slice(0, 5000),
        [VALIDATION_TAG.status]: validationSummary(report),
      }).map(([key, value]) => ({ key, value })),
    });
    run = { trackingRunId: created.run.info.run_id, experimentId: exp };
    prefix = `${exp}/${run.trackingRunId}/artifacts/validation`;
  }
  const jsonPath = `${prefix}/report.json`;
  const htmlPath = `${prefix}/report.html`;
  await artifacts.put(jsonPath, Buffer.from(JSON.stringify(report, null, 2)), {
    contentType: "application/json",
  });
  await artifacts.put(htmlPath, Buffer.from(renderValidationHtml(report)), { contentType: "text/html" });
  const out: RecordedValidation = { reportUri: artifacts.uri(jsonPath), htmlUri: artifacts.uri(htmlPath) };
  if (tracking && run) {
    const metrics = Object.entries(validationMetrics(report)).map(([key, value]) => ({
      key,
      value,
      timestamp: report.evaluatedAt,
      step: 0,
    }));
    for (let i = 0; i < metrics.length; i += 1000)
      await tracking.logBatch({ run_id: run.trackingRunId, metrics: metrics.slice(i, i + 1000) });
    await tracking.logBatch({
      run_id: run.trackingRunId,
      tags: [{ key: VALIDATION_TAG.report, value: out.reportUri }],
    });
    await tracking.updateRun({
      run_id: run.trackingRunId,
      status: report.passed ? "FINISHED" : "FAILED",
      end_time: report.evaluatedAt + report.durationMs,
    });
    Object.assign(out, run);
  }
  return out;
}

/** What the `validate` step returns (small JSON: the report itself is an artifact). */
export interface ValidateStepOutput {
  [k: string]: string | number | boolean;
  suite: string;
  dataset: string;
  passed: boolean;
  errors: number;
  warnings: number;
  rows: number;
  reportUri: string;
  htmlUri: string;
  summary: string;
}

/**
 * Tags for the run of a model trained on validated data, one per validate step output: the
 * model version's lineage shows them (`keel.validation.result.<suite>`).
 */
export function validationTags(...outputs: unknown[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const o of outputs) {
    const v = o as Partial<ValidateStepOutput> | undefined;
    if (!v || typeof v.suite !== "string") continue;
    tags[`${VALIDATION_TAG_PREFIX}${v.suite}`] = JSON.stringify({
      summary: v.summary,
      passed: v.passed,
      errors: v.errors,
      warnings: v.warnings,
      rows: v.rows,
      dataset: v.dataset,
      report: v.reportUri,
    });
  }
  return tags;
}
