import { parentPort } from "node:worker_threads";
import type { Dataset, TrackingLogger } from "@keel/train";
import { TrialStopped } from "../trial-runner";
import { runTrainTrial } from "./train-trial";
import type { FromWorker, LoggerMethod, ToWorker, TrialJobMessage } from "./train-worker-protocol";

// One trial at a time per worker; the last training set stays cached for the next trial.
const port = parentPort!;
let cached: { id: number; data: Dataset } | undefined;
const calls = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let nextCall = 1;
const send = (m: FromWorker) => port.postMessage(m);

/** A TrackingLogger whose calls run on the main thread (the trial's run lives there). */
const proxy =
  (method: LoggerMethod) =>
  (...args: unknown[]) =>
    new Promise<void>((resolve, reject) => {
      const call = nextCall++;
      calls.set(call, { resolve, reject });
      send({ type: "log", call, method, args });
    });
const logger: TrackingLogger = {
  logParams: proxy("logParams"),
  logMetrics: proxy("logMetrics"),
  logArtifact: proxy("logArtifact"),
  setTags: proxy("setTags"),
  flush: proxy("flush"),
};

async function runJob(m: TrialJobMessage): Promise<void> {
  if (m.dataset) cached = { id: m.datasetId, data: m.dataset };
  const startedAt = Date.now();
  const stop = new Int32Array(m.stopFlag);
  try {
    if (cached?.id !== m.datasetId) throw new Error("the worker has no copy of the training set");
    const metrics = await runTrainTrial(
      cached.data,
      m.job,
      m.logging ? logger : undefined,
      (step, metrics) => {
        send({ type: "round", step, metrics });
        return Atomics.load(stop, 0) !== 0;
      },
    );
    send({ type: "done", metrics, startedAt, endedAt: Date.now() });
  } catch (e) {
    send({
      type: "failed",
      stopped: e instanceof TrialStopped,
      message: (e as Error)?.message ?? String(e),
      startedAt,
      endedAt: Date.now(),
    });
  }
}

port.on("message", (m: ToWorker) => {
  if (m.type === "trial") void runJob(m);
  else {
    const c = calls.get(m.call);
    calls.delete(m.call);
    if (m.error === undefined) c?.resolve();
    else c?.reject(new Error(m.error));
  }
});
