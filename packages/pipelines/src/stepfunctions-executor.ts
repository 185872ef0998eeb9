import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { AWS_CALL_TIMEOUTS } from "@keel/core";
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

export interface StepFunctionsExecutorOptions {
  /** A configured client (tests pass one whose middleware answers instead of AWS). */
  client?: SFNClient;
  region?: string;
  stage: string;
  /** Resolves a pipeline's state machine ARN; default: look up `keel-<stage>-<pipeline>` with ListStateMachines. */
  stateMachineArn?: (pipeline: string) => Promise<string>;
  /** How long `history` sleeps between polls when nothing new happened. */
  pollMs?: number;
}

/** The deployed state machine's name for a pipeline; the stack names them the same way. */
export function stateMachineName(stage: string, pipeline: string): string {
  return `keel-${stage}-${pipeline}`;
}

const parse = (s: string | undefined): Json | undefined =>
  s === undefined ? undefined : (JSON.parse(s) as Json);

function isNamed(e: unknown, name: string): boolean {
  return (e as { name?: string })?.name === name;
}

const FAILED_TYPES = new Set([
  "TaskFailed",
  "TaskTimedOut",
  "TaskStartFailed",
  "TaskSubmitFailed",
  "LambdaFunctionFailed",
  "LambdaFunctionTimedOut",
  "LambdaFunctionStartFailed",
  "LambdaFunctionScheduleFailed",
]);
const SCHEDULED_TYPES = new Set(["TaskScheduled", "LambdaFunctionScheduled"]);

function failureOf(e: HistoryEvent): { error?: string; cause?: string } {
  const d =
    e.taskFailedEventDetails ??
    e.taskTimedOutEventDetails ??
    e.taskStartFailedEventDetails ??
    e.taskSubmitFailedEventDetails ??
    e.lambdaFunctionFailedEventDetails ??
    e.lambdaFunctionTimedOutEventDetails ??
    e.lambdaFunctionStartFailedEventDetails ??
    e.lambdaFunctionScheduleFailedEventDetails ??
    e.executionFailedEventDetails ??
    e.executionAbortedEventDetails ??
    e.executionTimedOutEventDetails;
  return { error: d?.error, cause: d?.cause };
}

/**
 * Normalizes Step Functions history. Task failures and schedules carry no state name, so the
 * state (and map iteration) of every event is found through its `previousEventId` chain;
 * a second schedule of the same task in the same state is a retry. Always called on the
 * whole history, so the renumbered `seq` of an event never changes between calls.
 */
export function normalizeHistory(events: HistoryEvent[]): ExecutionEvent[] {
  const ctx = new Map<number, { state?: string; index?: number; scheduled: number }>();
  const out: ExecutionEvent[] = [];
  for (const e of events) {
    const id = e.id ?? 0;
    const parent = ctx.get(e.previousEventId ?? -1) ?? { scheduled: 0 };
    const type = e.type ?? "";
    const time = e.timestamp?.getTime() ?? 0;
    let here = { ...parent };
    const at = (state: string | undefined) => ({
      seq: id,
      time,
      state,
      ...(here.index === undefined ? {} : { index: here.index }),
    });
    if (type === "MapIterationStarted")
      here = { index: e.mapIterationStartedEventDetails?.index, scheduled: 0 };
    if (type.endsWith("StateEntered")) {
      here = { state: e.stateEnteredEventDetails?.name, index: parent.index, scheduled: 0 };
      out.push({ ...at(here.state), type: "StateEntered", input: parse(e.stateEnteredEventDetails?.input) });
    } else if (type.endsWith("StateExited")) {
      out.push({
        ...at(e.stateExitedEventDetails?.name),
        type: "StateExited",
        output: parse(e.stateExitedEventDetails?.output),
      });
    } else if (FAILED_TYPES.has(type)) {
      out.push({ ...at(parent.state), type: "StateFailed", ...failureOf(e) });
    } else if (SCHEDULED_TYPES.has(type)) {
      here.scheduled = parent.scheduled + 1;
      if (here.scheduled > 1)
        out.push({ ...at(parent.state), type: "StateRetried", attempt: here.scheduled - 1 });
    } else if (type === "ExecutionStarted") {
      out.push({
        seq: id,
        time,
        type: "ExecutionStarted",
        input: parse(e.executionStartedEventDetails?.input),
      });
    } else if (type === "ExecutionSucceeded") {
      out.push({
        seq: id,
        time,
        type: "ExecutionSucceeded",
        output: parse(e.executionSucceededEventDetails?.output),
      });
    } else if (type === "ExecutionFailed" || type === "ExecutionAborted" || type === "ExecutionTimedOut") {
      out.push({ seq: id, time, type, ...failureOf(e) });
    }
    ctx.set(id, here);
  }
  // Step Functions ids also count events Keel does not surface; the port promises no gaps.
  return out.map((e, i) => ({ ...e, seq: i + 1 }));
}

/** Runs pipelines on AWS Step Functions through `@aws-sdk/client-sfn`. */
export class StepFunctionsPipelineExecutor implements PipelineExecutor {
  readonly kind = "stepfunctions";
  private readonly client: SFNClient;
  private readonly arns = new Map<string, string>();
  private readonly pollMs: number;

  constructor(private readonly opts: StepFunctionsExecutorOptions) {
    this.client = opts.client ?? new SFNClient({ region: opts.region, ...AWS_CALL_TIMEOUTS });
    this.pollMs = opts.pollMs ?? 2000;
  }

  private async stateMachineArn(pipeline: string): Promise<string> {
    const known = this.arns.get(pipeline);
    if (known) return known;
    let arn: string | undefined;
    if (this.opts.stateMachineArn) arn = await this.opts.stateMachineArn(pipeline);
    else {
      const wanted = stateMachineName(this.opts.stage, pipeline);
      let nextToken: string | undefined;
      do {
        const page = await this.client.send(new ListStateMachinesCommand({ nextToken, maxResults: 1000 }));
        arn = page.stateMachines?.find((m) => m.name === wanted)?.stateMachineArn;
        nextToken = page.nextToken;
      } while (!arn && nextToken);
    }
    if (!arn)
      throw noSuch(`no state machine is deployed for pipeline "${pipeline}" in stage "${this.opts.stage}"`);
    this.arns.set(pipeline, arn);
    return arn;
  }

  async start(req: StartExecutionRequest): Promise<{ executionId: string; startTime: number }> {
    const stateMachineArn = await this.stateMachineArn(req.pipeline);
    try {
      const r = await this.client.send(
        new StartExecutionCommand({ stateMachineArn, name: req.name, input: JSON.stringify(req.input) }),
      );
      return { executionId: r.executionArn!, startTime: r.startDate?.getTime() ?? Date.now() };
    } catch (e) {
      if (isNamed(e, "ExecutionAlreadyExists")) {
        throw new PipelineError(
          "RESOURCE_ALREADY_EXISTS",
          `execution "${req.name}" of pipeline "${req.pipeline}" already exists with another input`,
          undefined,
          { cause: e },
        );
      }
      if (isNamed(e, "StateMachineDoesNotExist"))
        throw noSuch(`state machine for pipeline "${req.pipeline}" does not exist`);
      throw e;
    }
  }

  async describe(executionId: string): Promise<ExecutionDescription> {
    try {
      const r = await this.client.send(new DescribeExecutionCommand({ executionArn: executionId }));
      const machine = r.stateMachineArn?.split(":").pop() ?? "";
      const prefix = stateMachineName(this.opts.stage, "");
      return {
        executionId,
        pipeline: machine.startsWith(prefix) ? machine.slice(prefix.length) : machine,
        name: r.name ?? "",
        status: (r.status === "PENDING_REDRIVE" ? "FAILED" : r.status) as ExecutionStatus,
        startTime: r.startDate?.getTime() ?? 0,
        ...(r.stopDate ? { stopTime: r.stopDate.getTime() } : {}),
        ...(r.output ? { output: parse(r.output) } : {}),
        ...(r.error ? { error: r.error } : {}),
        ...(r.cause ? { cause: r.cause } : {}),
      };
    } catch (e) {
      if (isNamed(e, "ExecutionDoesNotExist")) throw noSuch(`execution "${executionId}" does not exist`);
      throw e;
    }
  }

  private async allEvents(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new GetExecutionHistoryCommand({
            executionArn,
            maxResults: 1000,
            nextToken,
            includeExecutionData: true,
          }),
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
    } catch (e) {
      if (isNamed(e, "ExecutionDoesNotExist")) throw noSuch(`execution "${executionArn}" does not exist`);
      throw e;
    }
    return events;
  }

  async history(
    executionId: string,
    opts: { after?: number; waitMs?: number } = {},
  ): Promise<ExecutionEvent[]> {
    const after = opts.after ?? 0;
    const fresh = async () =>
      normalizeHistory(await this.allEvents(executionId)).filter((e) => e.seq > after);
    const first = await fresh();
    if (first.length || !opts.waitMs) return first;
    if (TERMINAL.has((await this.describe(executionId)).status)) return first;
    await new Promise((r) => setTimeout(r, Math.min(opts.waitMs ?? 0, this.pollMs)));
    return fresh();
  }

  async stop(executionId: string, opts: { error?: string; cause?: string } = {}): Promise<void> {
    const d = await this.describe(executionId);
    if (TERMINAL.has(d.status)) return;
    await this.client.send(
      new StopExecutionCommand({ executionArn: executionId, error: opts.error, cause: opts.cause }),
    );
  }
}
