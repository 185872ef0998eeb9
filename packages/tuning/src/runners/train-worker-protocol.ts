import type { Dataset } from "@keel/train";
import type { TrainTrialJob } from "./train-trial";

/** Main thread to worker: run a trial (the dataset only when the worker does not hold it yet). */
export interface TrialJobMessage {
  type: "trial";
  datasetId: number;
  dataset?: Dataset;
  job: TrainTrialJob;
  /** Whether the trial has a tracking run to log into (through `log` messages). */
  logging: boolean;
  /** Int32Array[1]: the main thread sets it to 1 to stop the trial after its current round. */
  stopFlag: SharedArrayBuffer;
}

/** Main thread to worker: a logger call finished. */
export interface LoggedMessage {
  type: "logged";
  call: number;
  error?: string;
}

export type ToWorker = TrialJobMessage | LoggedMessage;

export type FromWorker =
  | { type: "round"; step: number; metrics: Record<string, number> }
  | { type: "log"; call: number; method: LoggerMethod; args: unknown[] }
  | { type: "done"; metrics: Record<string, number>; startedAt: number; endedAt: number }
  | { type: "failed"; stopped: boolean; message: string; startedAt: number; endedAt: number };

export type LoggerMethod = "logParams" | "logMetrics" | "logArtifact" | "setTags" | "flush";
