import { dirname } from "node:path";
import type { ArtifactStore } from "@keel/artifacts";
import {
  captureReproducibility,
  type ReproducibilityRecord,
  reproducibilityDifferences,
  reproducibilityTags,
  sha256,
} from "@keel/core";
import type { Json, PipelineDefinition } from "./definition";
import type { PipelineRun, StepRecord } from "./run-store";

/** Where a pipeline run's reproducibility record is kept in the artifact store. */
export const runRecordPath = (pipeline: string, runId: string) =>
  `pipelines/${pipeline}/${runId}/reproducibility.json`;

/** The record of a run about to start: from the pipeline file's folder (or the process's). */
export function captureRunRecord(
  def: PipelineDefinition,
  params: Record<string, unknown>,
  file: string | undefined,
  now: number,
): Promise<ReproducibilityRecord> {
  const images: Record<string, string> = {};
  for (const s of def.steps) {
    if (s.kind === "container") images[s.name] = s.image;
    if (s.kind === "map" && s.run.kind === "container") images[s.name] = s.run.image;
  }
  return captureReproducibility({ cwd: file ? dirname(file) : process.cwd(), params, images, now });
}

/** Stores the record and returns the tags for the run's tracking run. */
export async function storeRunRecord(
  artifacts: ArtifactStore,
  run: Pick<PipelineRun, "pipeline" | "runId">,
  record: ReproducibilityRecord,
): Promise<{ uri: string; tags: Record<string, string> }> {
  const path = runRecordPath(run.pipeline, run.runId);
  await artifacts.put(path, Buffer.from(JSON.stringify(record, null, 2)), {
    contentType: "application/json",
  });
  const uri = artifacts.uri(path);
  return { uri, tags: reproducibilityTags(record, uri) };
}

export async function readRunRecord(
  artifacts: ArtifactStore,
  run: Pick<PipelineRun, "pipeline" | "runId">,
): Promise<ReproducibilityRecord | undefined> {
  const path = runRecordPath(run.pipeline, run.runId);
  if (!(await artifacts.exists(path))) return undefined;
  return JSON.parse((await artifacts.getBytes(path)).toString("utf8")) as ReproducibilityRecord;
}

export interface MetricComparison {
  step: string;
  key: string;
  original: number;
  reproduced: number;
  delta: number;
  withinTolerance: boolean;
}

export interface ModelComparison {
  step: string;
  original: { uri: string; sha256: string | null };
  reproduced: { uri: string; sha256: string | null };
  identical: boolean;
}

export interface ReproductionReport {
  originalRunId: string;
  runId: string;
  status: PipelineRun["status"];
  tolerance: number;
  /** True when the run succeeded, every metric is within tolerance and every model's bytes match. */
  reproduced: boolean;
  metrics: MetricComparison[];
  models: ModelComparison[];
  /** Steps whose status differs (e.g. failed now, succeeded then). */
  steps: Array<{ step: string; original: string; reproduced: string }>;
  /** What changed between the recorded inputs and the reproduction's: the likely reasons. */
  differences: string[];
  /** What the records cannot rule out (e.g. uncommitted changes in both runs). */
  caveats: string[];
  summary: string;
}

/** Numeric fields of a step output: top level and one level down (e.g. `metrics.valid_auc`). */
function numbers(out: Json | undefined): Map<string, number> {
  const m = new Map<string, number>();
  if (!out || typeof out !== "object" || Array.isArray(out)) return m;
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === "number") m.set(k, v);
    else if (v && typeof v === "object" && !Array.isArray(v))
      for (const [k2, v2] of Object.entries(v)) if (typeof v2 === "number") m.set(`${k}.${k2}`, v2);
  }
  return m;
}

/** The ONNX file of a model a step output names: `runs:/<run>/model` with its `experimentId`. */
function onnxPath(out: Json | undefined): string | undefined {
  if (!out || typeof out !== "object" || Array.isArray(out)) return undefined;
  const o = out as Record<string, Json>;
  const m = typeof o.modelUri === "string" ? /^runs:\/([^/]+)\/(.+)$/.exec(o.modelUri) : null;
  if (!m || typeof o.experimentId !== "string") return undefined;
  return `${o.experimentId}/${m[1]}/artifacts/${m[2]}/model.onnx`;
}

const topLevel = (steps: StepRecord[]) =>
  new Map(steps.filter((s) => s.index === undefined).map((s) => [s.step, s]));

/**
 * Compares a reproduction with the run it reproduces: the outputs of `deterministic` steps
 * (those that declare `cache: true`, i.e. an output that is a function of their inputs), their
 * numbers within `tolerance` (absolute) and the model ONNX bytes of steps that trained one,
 * and the two runs' reproducibility records (which explain a difference: an input whose hash
 * changed...).
 */
export async function compareRuns(
  artifacts: ArtifactStore,
  original: { run: PipelineRun; steps: StepRecord[]; record?: ReproducibilityRecord },
  reproduction: { run: PipelineRun; steps: StepRecord[]; record?: ReproducibilityRecord },
  opts: { tolerance: number; deterministic?: (step: string) => boolean },
): Promise<ReproductionReport> {
  const { tolerance } = opts;
  const a = topLevel(original.steps);
  const b = topLevel(reproduction.steps);
  const metrics: MetricComparison[] = [];
  const models: ModelComparison[] = [];
  const steps: ReproductionReport["steps"] = [];
  const ok = new Set(["SUCCEEDED", "CACHED", "REUSED"]);
  const hashOf = async (path: string) =>
    (await artifacts.exists(path)) ? sha256(await artifacts.getBytes(path)) : null;
  for (const [name, sa] of a) {
    const sb = b.get(name);
    if (!sb || ok.has(sa.status) !== ok.has(sb.status)) {
      steps.push({ step: name, original: sa.status, reproduced: sb?.status ?? "MISSING" });
      continue;
    }
    if (opts.deterministic && !opts.deterministic(name)) continue;
    const nb = numbers(sb.output);
    for (const [key, va] of numbers(sa.output)) {
      const vb = nb.get(key);
      if (vb === undefined) continue;
      const delta = Math.abs(va - vb);
      metrics.push({
        step: name,
        key,
        original: va,
        reproduced: vb,
        delta,
        withinTolerance: delta <= tolerance,
      });
    }
    const pa = onnxPath(sa.output);
    const pb = onnxPath(sb.output);
    if (pa && pb) {
      const [ha, hb] = [await hashOf(pa), await hashOf(pb)];
      models.push({
        step: name,
        original: { uri: artifacts.uri(pa), sha256: ha },
        reproduced: { uri: artifacts.uri(pb), sha256: hb },
        identical: ha !== null && ha === hb,
      });
    }
  }
  const differences =
    original.record && reproduction.record
      ? reproducibilityDifferences(original.record, reproduction.record)
      : [`run ${original.run.runId} has no reproducibility record`];
  const badMetrics = metrics.filter((m) => !m.withinTolerance);
  const badModels = models.filter((m) => !m.identical);
  const reproduced =
    reproduction.run.status === "SUCCEEDED" && !badMetrics.length && !badModels.length && !steps.length;
  const parts = [
    `${metrics.length - badMetrics.length}/${metrics.length} metrics within ${tolerance}`,
    `${models.length - badModels.length}/${models.length} models byte-identical`,
  ];
  if (steps.length) parts.push(`${steps.length} steps ended differently`);
  if (reproduction.run.status !== "SUCCEEDED") parts.push(`the reproduction ${reproduction.run.status}`);
  const why = !reproduced && differences.length ? `; likely because ${differences.join("; ")}` : "";
  return {
    originalRunId: original.run.runId,
    runId: reproduction.run.runId,
    status: reproduction.run.status,
    tolerance,
    reproduced,
    metrics,
    models,
    steps,
    differences,
    caveats:
      original.record?.git.dirty && reproduction.record?.git.dirty
        ? ["both runs started from a working tree with uncommitted changes: code changes cannot be ruled out"]
        : [],
    summary: `${reproduced ? "reproduced" : "NOT reproduced"}: ${parts.join(", ")}${why}`,
  };
}
