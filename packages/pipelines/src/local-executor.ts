import { type Clock, canonicalJson, systemClock } from "@keel/core";
import { StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import type { AslDefinition } from "./compiler";
import type { Json } from "./definition";
import { noSuch, PipelineError } from "./errors";
import {
  type ExecutionDescription,
  type ExecutionEvent,
  type ExecutionStatus,
  type PipelineExecutor,
  type StartExecutionRequest,
  TERMINAL,
} from "./executor-port";

// aws-local-stepfunctions 3.0.0 calls Promise.withResolvers (Node 22+) for every Task; Node 20 lacks it.
const P = Promise as unknown as { withResolvers?: () => unknown };
if (typeof P.withResolvers !== "function") {
  P.withResolvers = () => {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

/** What the runner needs of a pipeline: its ASL and a handler for every Task state, by state name. */
export interface LocalMachine {
  definition: AslDefinition;
  invokeTask(state: string, input: Json): Promise<Json>;
}

export interface LocalExecutorOptions {
  resolve(pipeline: string): LocalMachine | undefined;
  clock?: Clock;
  /** Milliseconds between retries instead of the ASL backoff (tests). */
  retryIntervalMs?: number;
  /** Finished executions kept in memory for describe/history (oldest forgotten first); default 1000. */
  maxFinished?: number;
}

interface Execution {
  desc: ExecutionDescription;
  inputKey: string;
  events: ExecutionEvent[];
  waiters: Array<() => void>;
  abort?: () => void;
}

/**
 * Executes the compiled ASL in this process with aws-local-stepfunctions, every Task
 * overridden (by state name) by the pipeline's step runtime. Executions live in memory for the
 * life of the process; what a run recorded is in the MetadataStore.
 */
export class LocalPipelineExecutor implements PipelineExecutor {
  readonly kind = "local";
  private readonly executions = new Map<string, Execution>();
  private readonly finished: string[] = [];
  private readonly clock: Clock;

  constructor(private readonly opts: LocalExecutorOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  async start(req: StartExecutionRequest): Promise<{ executionId: string; startTime: number }> {
    const executionId = `local:${req.pipeline}:${req.name}`;
    const inputKey = canonicalJson(req.input);
    const existing = this.executions.get(executionId);
    if (existing) {
      if (existing.inputKey !== inputKey) {
        throw new PipelineError(
          "RESOURCE_ALREADY_EXISTS",
          `execution "${req.name}" of pipeline "${req.pipeline}" already exists with another input`,
        );
      }
      return { executionId, startTime: existing.desc.startTime };
    }
    const machine = this.opts.resolve(req.pipeline);
    if (!machine) throw noSuch(`pipeline "${req.pipeline}" is not registered`);
    const startTime = this.clock.now();
    const ex: Execution = {
      desc: { executionId, pipeline: req.pipeline, name: req.name, status: "RUNNING", startTime },
      inputKey,
      events: [],
      waiters: [],
    };
    this.executions.set(executionId, ex);
    this.run(ex, machine, req.input);
    return { executionId, startTime };
  }

  private push(ex: Execution, e: Omit<ExecutionEvent, "seq">): void {
    ex.events.push({ ...e, seq: ex.events.length + 1 });
    for (const w of ex.waiters.splice(0)) w();
  }

  private finish(ex: Execution, status: ExecutionStatus, fields: Partial<ExecutionDescription>): void {
    if (TERMINAL.has(ex.desc.status)) return;
    ex.desc = { ...ex.desc, ...fields, status, stopTime: this.clock.now() };
    // A long-lived `keel dev` must not grow without bound; run history lives in the MetadataStore.
    this.finished.push(ex.desc.executionId);
    while (this.finished.length > (this.opts.maxFinished ?? 1000))
      this.executions.delete(this.finished.shift()!);
    const type = {
      SUCCEEDED: "ExecutionSucceeded",
      FAILED: "ExecutionFailed",
      ABORTED: "ExecutionAborted",
      TIMED_OUT: "ExecutionTimedOut",
    } as const;
    this.push(ex, {
      time: ex.desc.stopTime!,
      type: type[status as keyof typeof type],
      output: fields.output,
      error: fields.error,
      cause: fields.cause,
    });
  }

  private run(ex: Execution, machine: LocalMachine, input: Json): void {
    const sm = new StateMachine(machine.definition as unknown as StateMachineDefinition, {
      // The compiler has validated the definition already; the emulator's own check costs ~0.5 s a run.
      validationOptions: { noValidate: true },
    });
    const handlers = Object.fromEntries(
      collectTaskStates(machine.definition).map((name) => [
        name,
        (i: unknown) => machine.invokeTask(name, i as Json),
      ]),
    );
    const retryOverrides =
      this.opts.retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(
            collectTaskStates(machine.definition, true).map((n) => [n, this.opts.retryIntervalMs!]),
          );
    const exec = sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: retryOverrides },
      noThrowOnAbort: true,
      context: {
        Execution: {
          Id: ex.desc.executionId,
          Name: ex.desc.name,
          Input: input as never,
          StartTime: new Date(ex.desc.startTime).toISOString(),
        },
      },
    });
    ex.abort = exec.abort;
    this.push(ex, { time: ex.desc.startTime, type: "ExecutionStarted", input });
    const pump = (async () => {
      for await (const e of exec.eventLogs) {
        if (TERMINAL.has(ex.desc.status)) continue;
        const s = (e as { state?: { name: string; input: Json; output?: Json } }).state;
        const index = (e as { index?: number }).index;
        const base = { time: e.timestamp, state: s?.name, ...(index === undefined ? {} : { index }) };
        const err = e as { Error?: string; Cause?: unknown };
        switch (e.type) {
          case "StateEntered":
            this.push(ex, { ...base, type: "StateEntered", input: s?.input });
            break;
          case "StateExited":
            this.push(ex, { ...base, type: "StateExited", output: s?.output });
            break;
          case "StateFailed":
            this.push(ex, { ...base, type: "StateFailed", error: err.Error, cause: causeText(err.Cause) });
            break;
          case "StateRetried":
            this.push(ex, {
              ...base,
              type: "StateRetried",
              attempt: (e as { retry: { attempt: number } }).retry.attempt,
            });
            break;
          case "StateCaught":
            this.push(ex, { ...base, type: "StateCaught" });
            break;
        }
      }
    })();
    void Promise.allSettled([exec.result, pump]).then(([result, pumped]) => {
      if (result.status === "fulfilled" && pumped.status === "fulfilled") {
        this.finish(ex, "SUCCEEDED", { output: result.value as Json });
        return;
      }
      const e = (
        result.status === "rejected" ? result.reason : (pumped as PromiseRejectedResult).reason
      ) as Error & { cause?: unknown };
      const timedOut = e?.constructor?.name === "ExecutionTimeoutError";
      const cause = e?.cause as { name?: string; message?: string } | undefined;
      this.finish(ex, timedOut ? "TIMED_OUT" : "FAILED", {
        error: cause?.name ?? e?.name ?? "Error",
        cause: cause?.message ?? e?.message ?? String(e),
      });
    });
  }

  private get(executionId: string): Execution {
    const ex = this.executions.get(executionId);
    if (!ex) throw noSuch(`execution "${executionId}" does not exist`);
    return ex;
  }

  async describe(executionId: string): Promise<ExecutionDescription> {
    return { ...this.get(executionId).desc };
  }

  async history(
    executionId: string,
    opts: { after?: number; waitMs?: number } = {},
  ): Promise<ExecutionEvent[]> {
    const ex = this.get(executionId);
    const after = opts.after ?? 0;
    if (ex.events.length <= after && !TERMINAL.has(ex.desc.status) && opts.waitMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, opts.waitMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        ex.waiters.push(done);
      });
    }
    return ex.events.slice(after);
  }

  async stop(executionId: string, opts: { error?: string; cause?: string } = {}): Promise<void> {
    const ex = this.get(executionId);
    if (TERMINAL.has(ex.desc.status)) return;
    this.finish(ex, "ABORTED", { error: opts.error, cause: opts.cause });
    ex.abort?.();
  }
}

function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (typeof cause === "string") return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause);
}

/** Names of Task states (optionally also Map/Parallel, which can carry Retry) at any depth. */
function collectTaskStates(
  def: { States: Record<string, Record<string, unknown>> },
  retryable = false,
): string[] {
  const out: string[] = [];
  for (const [name, st] of Object.entries(def.States)) {
    if (st.Type === "Task" || (retryable && (st.Type === "Map" || st.Type === "Parallel"))) out.push(name);
    if (st.Type === "Map") out.push(...collectTaskStates(st.ItemProcessor as never, retryable));
    if (st.Type === "Parallel")
      for (const b of st.Branches as never[]) out.push(...collectTaskStates(b, retryable));
  }
  return out;
}
