import type { TrackingRunWriter } from "@keel/core";
import type { BuiltinStepKind, Json, StepContext } from "@keel/pipelines";
import { StepFailure } from "@keel/pipelines";
import { z } from "zod";
import { datasetDigests, listObjects, storePath } from "./training-data";

/** The part of `@keel/tracking`'s TrackingService registration uses (MLflow request shapes). */
export interface FinetuneTrackingApi extends TrackingRunWriter {
  searchRuns(req: { experiment_ids?: string[]; filter?: string }): Promise<{
    runs?: Array<{ info: { run_id: string }; data?: { tags?: Array<{ key: string; value: string }> } }>;
  }>;
}

const REGISTERED = "keel.registeredVersion";

/** The version an earlier attempt of this step registered (a retry must not register twice). */
async function registeredBefore(
  tracking: FinetuneTrackingApi,
  experiment: string,
  ctx: StepContext,
): Promise<{ runId: string; version: string } | undefined> {
  const { runs } = await tracking.searchRuns({
    experiment_ids: [experiment],
    filter: `tags.\`keel.pipelineRunId\` = '${ctx.runId}' and tags.\`keel.step\` = '${ctx.step}'`,
  });
  for (const r of runs ?? []) {
    const version = r.data?.tags?.find((t) => t.key === REGISTERED)?.value;
    if (version) return { runId: r.info.run_id, version };
  }
  return undefined;
}

/** Registers a version (creating the registered model on first use): `@keel/tuning`'s registryRegistrar fits. */
export interface AdapterRegistrar {
  register(model: string, source: string, runId: string, description?: string): Promise<{ version: string }>;
}

export const registerAdapterInput = z
  .object({
    /** The registered model the adapter becomes a version of. */
    model: z.string().min(1),
    /** The `llm-finetune` step whose adapter this registers (a dependency of this step). */
    from: z.string().min(1),
    /** A dependency whose numeric outputs (top level or under `metrics`) are the adapter's eval metrics. */
    evalStep: z.string().min(1).optional(),
    /** Experiment of the lineage run (default `llm-finetune/<model>`). */
    experiment: z.string().min(1).optional(),
    description: z.string().optional(),
  })
  .strict();
export type RegisterAdapterInput = z.output<typeof registerAdapterInput>;

const trainedSchema = z.object({
  artifactUri: z.string().min(1),
  baseModel: z.string().min(1),
  hyperparameters: z.record(z.string(), z.string()),
  trainingData: z.string().min(1),
  jobName: z.string().optional(),
});

function numbers(out: Json | undefined): Record<string, number> {
  const o = out && typeof out === "object" && !Array.isArray(out) ? out : {};
  const src = o.metrics && typeof o.metrics === "object" && !Array.isArray(o.metrics) ? o.metrics : o;
  return Object.fromEntries(
    Object.entries(src).filter(
      (e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1]),
    ),
  );
}

async function experimentId(tracking: FinetuneTrackingApi, name: string): Promise<string> {
  try {
    return (await tracking.getExperimentByName(name)).experiment.experiment_id;
  } catch {
    try {
      return (await tracking.createExperiment({ name })).experiment_id;
    } catch {
      return (await tracking.getExperimentByName(name)).experiment.experiment_id;
    }
  }
}

/** Where a run's artifacts live inside the artifact store. */
function runArtifactRoot(ctx: StepContext, uri: string | undefined, runId: string): string {
  const proxied = /^mlflow-artifacts:\/+(.*)$/.exec(uri ?? "");
  if (proxied) return proxied[1].replace(/\/+$/, "");
  if (uri) return storePath(ctx.artifacts, uri);
  throw new StepFailure("Keel.RegisterFailed", `tracking run ${runId} has no artifact location`);
}

/**
 * `llm-register-adapter`: registers a fine-tune's adapter as a model version with its lineage.
 * A tracking run records the base model and hyperparameters (params), the sha256 of each
 * training data file (params `dataset.<file>.sha256` and tag `keel.dataset.digest`) and the eval
 * metrics; the adapter's files are copied into that run's artifacts (`adapter/`), and the
 * version's source is `runs:/<run>/adapter`.
 */
export function registerAdapterStepKind(deps: {
  tracking: FinetuneTrackingApi;
  registrar: AdapterRegistrar;
  now?: () => number;
}): BuiltinStepKind<RegisterAdapterInput> {
  const now = deps.now ?? Date.now;
  return {
    name: "llm-register-adapter",
    description:
      "Register a LoRA adapter as a model version with its lineage (base model, data digests, metrics)",
    input: registerAdapterInput,
    async run(i, ctx) {
      const parsed = trainedSchema.safeParse(ctx.inputs[i.from]);
      if (!parsed.success)
        throw new StepFailure(
          "Keel.InvalidInput",
          `step "${ctx.step}": "${i.from}" must be an llm-finetune step this step depends on (its output has no adapter)`,
        );
      const trained = parsed.data;
      const digests = await datasetDigests(ctx.artifacts, trained.trainingData);
      const metrics = i.evalStep ? numbers(ctx.inputs[i.evalStep]) : {};
      const { tracking } = deps;
      const lineageOutput = (runId: string, version: string) => ({
        model: i.model,
        version,
        runId,
        source: `runs:/${runId}/adapter`,
        baseModel: trained.baseModel,
        datasetDigests: digests,
      });
      const exp = await experimentId(tracking, i.experiment ?? `llm-finetune/${i.model}`);
      const before = await registeredBefore(tracking, exp, ctx);
      if (before) {
        ctx.log(`already registered as ${i.model} version ${before.version} (run ${before.runId})`);
        return lineageOutput(before.runId, before.version);
      }
      const datasetDigest = Object.entries(digests)
        .map(([f, d]) => `${f}:${d}`)
        .join(",");
      const { run } = await tracking.createRun({
        experiment_id: exp,
        run_name: `${ctx.pipeline}-${ctx.step}`,
        tags: [
          { key: "keel.pipeline", value: ctx.pipeline },
          { key: "keel.pipelineRunId", value: ctx.runId },
          { key: "keel.step", value: ctx.step },
          { key: "keel.baseModel", value: trained.baseModel },
          { key: "keel.dataset.uri", value: trained.trainingData },
          { key: "keel.dataset.digest", value: datasetDigest.slice(0, 5000) },
          ...(trained.jobName ? [{ key: "keel.trainingJob", value: trained.jobName }] : []),
        ],
      });
      const runId = run.info.run_id;
      await tracking.logBatch({
        run_id: runId,
        params: [
          { key: "base_model", value: trained.baseModel },
          ...Object.entries(trained.hyperparameters)
            .filter(([k]) => k !== "base_model")
            .map(([key, value]) => ({ key, value })),
          ...Object.entries(digests).map(([f, d]) => ({
            key: `dataset.${f}.sha256`.slice(0, 250),
            value: d,
          })),
        ].slice(0, 100),
        metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: now(), step: 0 })),
      });
      const from = storePath(ctx.artifacts, trained.artifactUri);
      const to = `${runArtifactRoot(ctx, run.info.artifact_uri, runId)}/adapter`;
      const files = await listObjects(ctx.artifacts, from);
      if (!files.length)
        throw new StepFailure("Keel.RegisterFailed", `the adapter at ${trained.artifactUri} has no files`);
      for (const f of files) {
        const rel = f === from ? (f.split("/").pop() ?? f) : f.slice(from.length).replace(/^\/+/, "");
        await ctx.artifacts.put(`${to}/${rel}`, await ctx.artifacts.getBytes(f));
      }
      await tracking.updateRun({ run_id: runId, status: "FINISHED", end_time: now() });
      const source = `runs:/${runId}/adapter`;
      const { version } = await deps.registrar.register(
        i.model,
        source,
        runId,
        i.description ?? `LoRA adapter on ${trained.baseModel}`,
      );
      await tracking.logBatch({ run_id: runId, tags: [{ key: REGISTERED, value: version }] });
      return lineageOutput(runId, version);
    },
  };
}
