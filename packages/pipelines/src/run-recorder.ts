import type { AuditLog } from "@keel/audit";
import type { Clock } from "@keel/core";
import type { CompiledPipeline } from "./compiler";
import type { Json } from "./definition";
import type { ExecutionEvent, ExecutionStatus } from "./executor-port";
import type { PipelineRun, RunStore, StepRecord } from "./run-store";
import type { TrackingLink } from "./tracking-link";

const EXECUTION_END: Partial<Record<ExecutionEvent["type"], ExecutionStatus>> = {
  ExecutionSucceeded: "SUCCEEDED",
  ExecutionFailed: "FAILED",
  ExecutionAborted: "ABORTED",
  ExecutionTimedOut: "TIMED_OUT",
};

function stepOutput(state: Json | undefined, step: string): Json | undefined {
  return (state as { steps?: Record<string, Json> } | undefined)?.steps?.[step];
}

/**
 * Turns execution history into run records: per step its status, attempts, start and end
 * times, error, output; the run's final status; the nested tracking runs. Works from the
 * normalized events of either executor, so runs in AWS and locally are recorded alike.
 * Events of one run must be applied in order by one recorder.
 */
export class RunRecorder {
  constructor(
    private readonly runs: RunStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly tracking?: TrackingLink,
  ) {}

  /** Applies one event; returns true once the execution has finished. */
  async apply(run: PipelineRun, compiled: CompiledPipeline, ev: ExecutionEvent): Promise<boolean> {
    const end = EXECUTION_END[ev.type];
    if (end) {
      await this.finish(run, end, ev);
      return true;
    }
    if (!ev.state) return false;
    const role = compiled.states[ev.state];
    if (!role || !("step" in role)) return false;
    const step = role.step;
    const index = role.role === "item" ? ev.index : undefined;
    const isWork =
      role.role === "task" || role.role === "map" || role.role === "item" || role.role === "hook";
    const update = (change: Parameters<RunStore["updateStep"]>[3]) =>
      this.runs.updateStep(run.runId, step, index, change);

    switch (ev.type) {
      case "StateEntered": {
        if (role.role === "gate")
          await update({ set: { status: "RUNNING", startTime: ev.time }, setIfMissing: { attempts: 1 } });
        if (!isWork) return false;
        const rec = await update({
          set: { status: "RUNNING" },
          setIfMissing: { startTime: ev.time },
          addAttempts: 1,
        });
        if (this.tracking && run.trackingRunId && run.trackingExperimentId && !rec.trackingRunId) {
          const id = await this.tracking.startStep({
            experimentId: run.trackingExperimentId,
            parentRunId: run.trackingRunId,
            pipelineRunId: run.runId,
            step,
            index,
            time: ev.time,
          });
          if (id) await update({ set: { trackingRunId: id } });
        }
        return false;
      }
      case "StateRetried":
        if (isWork) await update({ set: { status: "RUNNING" }, addAttempts: 1 });
        return false;
      case "StateFailed":
        if (isWork)
          await this.endStep(update, {
            status: "FAILED",
            endTime: ev.time,
            error: ev.error,
            cause: ev.cause,
          });
        return false;
      case "StateCaught":
        if (role.role === "task" || role.role === "map") await update({ set: { continued: true } });
        return false;
      case "StateExited": {
        if (role.role === "skip")
          await update({ set: { status: "SKIPPED", endTime: ev.time }, setIfMissing: { attempts: 0 } });
        if (role.role === "reuse") {
          await update({
            set: { status: "REUSED", endTime: ev.time, output: stepOutput(ev.output, step) },
            setIfMissing: { attempts: 0 },
          });
        }
        if (role.role === "branch")
          await update({
            set: { status: "SUCCEEDED", endTime: ev.time, output: stepOutput(ev.output, step) },
          });
        if (role.role === "task" || role.role === "map" || role.role === "item") {
          const output = role.role === "item" ? ev.output : stepOutput(ev.output, step);
          // A caught failure also "exits" the state; its record stays FAILED.
          const current = await this.runs.getStep(run.runId, step, index);
          if (current?.continued && current.status === "FAILED") return false;
          await this.endStep(update, {
            status: current?.cachedFrom ? "CACHED" : "SUCCEEDED",
            endTime: ev.time,
            output,
          });
        }
        if (role.role === "hook") await this.endStep(update, { status: "SUCCEEDED", endTime: ev.time });
        return false;
      }
      default:
        return false;
    }
  }

  private async endStep(
    update: (c: Parameters<RunStore["updateStep"]>[3]) => Promise<StepRecord>,
    set: Partial<StepRecord>,
  ) {
    const rec = await update({ set });
    if (this.tracking && rec.trackingRunId) {
      const status = set.status === "FAILED" ? "FAILED" : "FINISHED";
      const tags: Record<string, string> = { "keel.step.status": set.status ?? "" };
      if (rec.cachedFrom) tags["keel.step.cachedFrom"] = rec.cachedFrom;
      await this.tracking.endRun(
        rec.trackingRunId,
        status,
        set.endTime ?? this.clock.now(),
        set.output,
        tags,
      );
    }
  }

  private async finish(run: PipelineRun, status: ExecutionStatus, ev: ExecutionEvent): Promise<void> {
    const changed = await this.runs.finishRun(run.runId, {
      status,
      endTime: ev.time,
      ...(ev.output === undefined ? {} : { output: ev.output }),
      ...(ev.error ? { error: ev.error } : {}),
      ...(ev.cause ? { cause: ev.cause } : {}),
    });
    if (!changed) return;
    if (this.tracking && run.trackingRunId) {
      const t = status === "SUCCEEDED" ? "FINISHED" : status === "ABORTED" ? "KILLED" : "FAILED";
      await this.tracking.endRun(run.trackingRunId, t, ev.time, undefined, {
        "keel.pipeline.status": status,
      });
    }
    await this.audit.append({
      action: "pipeline.run.finish",
      resource: `pipeline:${run.pipeline}/run:${run.runId}`,
      state: { status, error: ev.error },
      principal: run.principal,
    });
  }
}
