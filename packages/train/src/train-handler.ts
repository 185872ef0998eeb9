import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type ArtifactStoreOptions, createArtifactStore } from "@keel/artifacts";
import {
  captureReproducibility,
  internalCallHeaders,
  parseWith,
  REPRODUCIBILITY_ARTIFACT,
  reproducibilityTags,
} from "@keel/core";
import { z } from "zod";
import { TrainError } from "./errors";
import { readParquetDataset } from "./parquet-dataset";
import { progressReporter, TrainingStopped } from "./progress-reporter";
import { MlflowRestLogger } from "./tracking";
import { resolveAlgorithmParams, trainModel, trainSpecSchema } from "./train-run";

export const trainStepInputSchema = trainSpecSchema.extend({
  /** Parquet file: a local path, a file:// or s3:// URI, or any URI the injected reader understands. */
  trainingSetUri: z.string().min(1),
  label: z.string().min(1),
  features: z.array(z.string().min(1)).min(1),
  trackingUrl: z.url(),
  experimentId: z.string().min(1),
  /** An existing run to log into; without it the step creates (and finishes) one. */
  runId: z.string().min(1).optional(),
  runName: z.string().min(1).optional(),
  /** Extra run tags (e.g. the validation results of the training data, for the model's lineage). */
  tags: z.record(z.string(), z.string()).default({}),
  /**
   * A tuning trial's progress endpoint (absolute, or a path under trackingUrl, e.g. the pipeline
   * parameter `keelTuningProgress`): every round is reported there while training, and the step
   * throws TrainingStopped when the answer says stop.
   */
  progressUrl: z.string().min(1).optional(),
});
export type TrainStepInput = z.input<typeof trainStepInputSchema>;

export interface TrainStepOutput {
  /** `runs:/<runId>/model`, the source to register a model version from. */
  modelUri: string;
  runId: string;
  experimentId: string;
  metrics: Record<string, number>;
}

export interface TrainStepDeps {
  /** Reads a training set by URI; the default reads local paths, file:// and s3:// URIs. */
  readUri?: (uri: string) => Promise<Uint8Array>;
  /** S3 client settings for s3:// training sets (region, or an S3-compatible endpoint). */
  s3?: ArtifactStoreOptions;
  headers?: Record<string, string>;
}

/** The default reader: S3 through the S3 ArtifactStore adapter, everything else from the filesystem. */
async function readTrainingSet(uri: string, s3: ArtifactStoreOptions = {}): Promise<Uint8Array> {
  const s3Match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (s3Match) return createArtifactStore(`s3://${s3Match[1]}`, s3).getBytes(s3Match[2]);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith("file://")) {
    throw new TrainError(
      "INVALID_PARAMETER_VALUE",
      `cannot read training set '${uri}': use a path, file:// or s3:// URI`,
    );
  }
  const path = uri.startsWith("file://") ? fileURLToPath(uri) : uri;
  try {
    return await readFile(path);
  } catch (e) {
    throw new TrainError(
      "INVALID_PARAMETER_VALUE",
      `cannot read training set '${uri}': ${(e as NodeJS.ErrnoException).code}`,
      undefined,
      { cause: e },
    );
  }
}

/**
 * The built-in trainer as a `lambda`-kind pipeline step: reads the training set, trains,
 * logs the run to Keel's tracking server and returns where the model is.
 */
export async function trainHandler(input: unknown, deps: TrainStepDeps = {}): Promise<TrainStepOutput> {
  const req = parseWith(trainStepInputSchema, input, "train step input");
  // Everything checkable is checked before a run exists, so a bad request leaves no trace.
  resolveAlgorithmParams(req);
  const bytes = deps.readUri
    ? await deps.readUri(req.trainingSetUri)
    : await readTrainingSet(req.trainingSetUri, deps.s3);
  const data = await readParquetDataset(bytes, req.label, req.features);
  const created = !req.runId;
  const logger = req.runId
    ? new MlflowRestLogger({
        trackingUrl: req.trackingUrl,
        experimentId: req.experimentId,
        runId: req.runId,
        headers: deps.headers,
      })
    : await MlflowRestLogger.createRun(req.trackingUrl, req.experimentId, {
        runName: req.runName,
        headers: deps.headers,
      });
  const { runId } = logger.run;
  const progress = req.progressUrl
    ? progressReporter(
        /^https?:\/\//.test(req.progressUrl)
          ? req.progressUrl
          : `${req.trackingUrl.replace(/\/+$/, "")}${req.progressUrl}`,
        { ...internalCallHeaders(), ...deps.headers },
      )
    : undefined;
  try {
    // What made this run: code, lockfile, the training set's content hash, params and seeds.
    const { trackingUrl: _u, experimentId: _e, runId: _r, runName: _n, progressUrl: _p, tags, ...spec } = req;
    const record = await captureReproducibility({
      cwd: process.cwd(),
      params: { ...spec, params_seed: req.params.seed },
      inputs: { trainingSetUri: req.trainingSetUri.replace(/^file:\/\//, "") },
    });
    await logger.logArtifact(
      REPRODUCIBILITY_ARTIFACT,
      new TextEncoder().encode(JSON.stringify(record, null, 2)),
    );
    await logger.setTags({ ...reproducibilityTags(record, REPRODUCIBILITY_ARTIFACT), ...tags });
    const { metrics } = await trainModel(
      data,
      req,
      logger,
      runId,
      progress &&
        ((round, m) => {
          if (progress.round(round + 1, m)) throw new TrainingStopped(round + 1);
        }),
    );
    if (created) await logger.finish("FINISHED");
    return { modelUri: `runs:/${runId}/model`, runId, experimentId: req.experimentId, metrics };
  } catch (e) {
    if (created) await logger.finish("FAILED").catch(() => undefined);
    throw e;
  } finally {
    await progress?.close();
  }
}
