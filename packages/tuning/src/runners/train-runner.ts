import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { KeelError } from "@keel/core";
import { type Dataset, readParquetDataset, type TrackingLogger } from "@keel/train";
import type { TrainTrial } from "../definition";
import { TUNING_TAGS } from "../tracking";
import { type TrialContext, type TrialResult, type TrialRunner, TrialStopped } from "../trial-runner";
import { runTrainTrial, type TrainTrialJob, trainJob } from "./train-trial";
import type { FromWorker, TrialJobMessage } from "./train-worker-protocol";
import { WorkerPool } from "./worker-pool";

export interface TrainRunnerOptions {
  /** Reads a training set by URI (default: local paths and file:// URIs). */
  readUri?: (uri: string) => Promise<Uint8Array>;
  /** Trials at once (the definition's parallelTrials): sizes the worker pool. */
  parallelTrials?: number;
  /** Worker threads at most (default: min(parallelTrials, os.availableParallelism())). */
  workers?: number;
  /** Train on the calling thread instead of worker threads (trials then interleave, not overlap). */
  inProcess?: boolean;
  /** Heap limit of each worker thread in MiB: a trial that exceeds it fails, the process does not. */
  workerMemoryMb?: number;
}

const WORKER_URL = new URL("./train-worker.mjs", import.meta.url);
let datasetIds = 0;

async function readLocal(uri: string): Promise<Uint8Array> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith("file://"))
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `cannot read training set '${uri}' here: use a path or file:// URI`,
    );
  return readFile(uri.startsWith("file://") ? fileURLToPath(uri) : uri);
}

/** The trial's training window and thread, as tags of its run. */
async function tagTiming(
  logger: TrackingLogger | undefined,
  startedAt: number,
  endedAt: number,
  thread: number,
) {
  await logger?.setTags({
    [TUNING_TAGS.trainStarted]: String(startedAt),
    [TUNING_TAGS.trainEnded]: String(endedAt),
    [TUNING_TAGS.trainThread]: String(thread),
  });
}

/**
 * Trials that train Keel's built-in GBDT (or logistic regression). The training set is read once
 * per experiment; each trial lays its parameters over the fixed ones, reports every round's
 * validation metrics (step = rounds done) and logs params, per-round metrics, the model and its
 * profile into its nested run.
 *
 * The trainer is synchronous, so each trial trains in a worker thread from a bounded pool
 * (min(parallelTrials, cores) threads): trials really run at once and the caller's event loop
 * (the server) stays free. Rounds reach the controller as messages (its stopping rule decides);
 * a stop reaches the trial through a shared flag it reads after every round; logger calls run
 * on the controller's thread. A worker that crashes or exits fails its trial and is replaced.
 */
export function trainRunner(spec: TrainTrial, opts: TrainRunnerOptions = {}): TrialRunner {
  let data: Promise<{ id: number; dataset: Dataset }> | undefined;
  const load = () => {
    data ??= (async () => {
      const uri = typeof spec.trainingSetUri === "string" ? spec.trainingSetUri : await spec.trainingSetUri();
      const bytes = await (opts.readUri ?? readLocal)(uri);
      return { id: ++datasetIds, dataset: await readParquetDataset(bytes, spec.label, spec.features) };
    })();
    data.catch(() => {
      data = undefined;
    });
    return data;
  };
  const size = opts.workers ?? Math.max(1, Math.min(opts.parallelTrials ?? 1, availableParallelism()));
  const pool = new WorkerPool(
    () =>
      new Worker(WORKER_URL, {
        ...(opts.workerMemoryMb ? { resourceLimits: { maxOldGenerationSizeMb: opts.workerMemoryMb } } : {}),
      }),
    size,
  );
  const holds = new WeakMap<Worker, number>();

  async function inWorker(ctx: TrialContext, job: TrainTrialJob, id: number, dataset: Dataset) {
    const stopFlag = new SharedArrayBuffer(4);
    const flag = new Int32Array(stopFlag);
    const stop = () => Atomics.store(flag, 0, 1);
    const w = await pool.acquire();
    ctx.signal.addEventListener("abort", stop);
    if (ctx.signal.aborted) stop();
    let crashed = false;
    try {
      const end = await new Promise<Extract<FromWorker, { type: "done" | "failed" }>>((resolve, reject) => {
        const cleanup = () => {
          w.off("message", onMessage);
          w.off("error", onError);
          w.off("exit", onExit);
        };
        const onMessage = (m: FromWorker) => {
          if (m.type === "round") {
            if (ctx.report(m.step, m.metrics)) stop();
          } else if (m.type === "log") {
            const logger = ctx.logger as unknown as
              | Record<string, (...a: unknown[]) => Promise<void>>
              | undefined;
            Promise.resolve(logger?.[m.method](...m.args)).then(
              () => w.postMessage({ type: "logged", call: m.call }),
              (e) =>
                w.postMessage({ type: "logged", call: m.call, error: (e as Error).message ?? String(e) }),
            );
          } else {
            cleanup();
            resolve(m);
          }
        };
        const onError = (e: Error) => {
          cleanup();
          crashed = true;
          reject(new Error(`the trial's worker thread crashed: ${e.message}`));
        };
        const onExit = (code: number) => {
          cleanup();
          crashed = true;
          reject(new Error(`the trial's worker thread exited (code ${code}) before the trial ended`));
        };
        w.on("message", onMessage);
        w.on("error", onError);
        w.on("exit", onExit);
        const msg: TrialJobMessage = {
          type: "trial",
          datasetId: id,
          ...(holds.get(w) === id ? {} : { dataset }),
          job,
          logging: ctx.logger !== undefined,
          stopFlag,
        };
        w.postMessage(msg);
        holds.set(w, id);
      });
      await tagTiming(ctx.logger, end.startedAt, end.endedAt, w.threadId);
      if (end.type === "done") return end.metrics;
      if (end.stopped) throw new TrialStopped();
      throw new Error(end.message);
    } finally {
      ctx.signal.removeEventListener("abort", stop);
      if (crashed) pool.discard(w);
      else pool.release(w);
    }
  }

  async function inProcess(ctx: TrialContext, job: TrainTrialJob, dataset: Dataset) {
    const startedAt = Date.now();
    try {
      return await runTrainTrial(
        dataset,
        job,
        ctx.logger,
        (step, metrics) => ctx.signal.aborted || ctx.report(step, metrics),
      );
    } finally {
      await tagTiming(ctx.logger, startedAt, Date.now(), 0).catch(() => undefined);
    }
  }

  return {
    logsMetrics: true,
    async run(ctx): Promise<TrialResult> {
      const { id, dataset } = await load();
      const runId = ctx.trackingRunId ?? `trial-${ctx.number}`;
      const job = trainJob(spec, ctx.params, runId);
      const metrics = opts.inProcess
        ? await inProcess(ctx, job, dataset)
        : await inWorker(ctx, job, id, dataset);
      return { metrics, ...(ctx.trackingRunId ? { modelUri: `runs:/${runId}/model` } : {}) };
    },
    close: () => pool.close(),
  };
}
