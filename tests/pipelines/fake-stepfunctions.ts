import {
  type DescribeExecutionCommandInput,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type GetExecutionHistoryCommandInput,
  type GetExecutionHistoryCommandOutput,
  type HistoryEvent,
  type ListStateMachinesCommandInput,
  type ListStateMachinesCommandOutput,
  SFNClient,
  type StartExecutionCommandInput,
  type StartExecutionCommandOutput,
  StateMachineDoesNotExist,
  type StopExecutionCommandInput,
  type StopExecutionCommandOutput,
} from "@aws-sdk/client-sfn";
import {
  type AslDefinition,
  type ExecutionEvent,
  type LocalMachine,
  LocalPipelineExecutor,
  PipelineError,
} from "@keel/pipelines";

/**
 * A Step Functions stand-in behind a real SFNClient: a middleware at the "build" step takes
 * the request the SDK serialized (AWS JSON 1.0: X-Amz-Target + JSON body), records it, and
 * answers from executions run by the in-process ASL runner, translated into Step Functions'
 * own response and history-event shapes. Handlers are typed with the SDK's input/output types.
 */
export interface RecordedRequest {
  target: string;
  body: Record<string, unknown>;
}

type Out<T> = Omit<T, "$metadata">;
interface Handlers {
  ListStateMachines(i: ListStateMachinesCommandInput): Out<ListStateMachinesCommandOutput>;
  StartExecution(i: StartExecutionCommandInput): Promise<Out<StartExecutionCommandOutput>>;
  DescribeExecution(i: DescribeExecutionCommandInput): Promise<Out<DescribeExecutionCommandOutput>>;
  GetExecutionHistory(i: GetExecutionHistoryCommandInput): Promise<Out<GetExecutionHistoryCommandOutput>>;
  StopExecution(i: StopExecutionCommandInput): Promise<Out<StopExecutionCommandOutput>>;
}

const meta = { $metadata: {} };
const ACCOUNT = "123456789012";

export function fakeStepFunctions(opts: {
  stage: string;
  machines: (name: string) => LocalMachine | undefined;
  names: string[];
}) {
  const requests: RecordedRequest[] = [];
  const local = new LocalPipelineExecutor({ resolve: opts.machines, retryIntervalMs: 0 });
  const arnOf = (pipeline: string) =>
    `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:keel-${opts.stage}-${pipeline}`;
  const executionArn = (pipeline: string, name: string) =>
    `arn:aws:states:us-east-1:${ACCOUNT}:execution:keel-${opts.stage}-${pipeline}:${name}`;
  const localId = (arn: string) => {
    const [, , , , , , machine, name] = arn.split(":");
    return `local:${machine.slice(`keel-${opts.stage}-`.length)}:${name}`;
  };
  const translate = async <T>(fn: () => Promise<T>) => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof PipelineError && e.code === "RESOURCE_DOES_NOT_EXIST")
        throw new ExecutionDoesNotExist({ message: e.message, $metadata: {} });
      if (e instanceof PipelineError && e.code === "RESOURCE_ALREADY_EXISTS")
        throw new ExecutionAlreadyExists({ message: e.message, $metadata: {} });
      throw e;
    }
  };

  const handlers: Handlers = {
    ListStateMachines: () => ({
      stateMachines: opts.names.map((n) => ({
        name: `keel-${opts.stage}-${n}`,
        stateMachineArn: arnOf(n),
        type: "STANDARD",
        creationDate: new Date(0),
      })),
    }),
    async StartExecution(i) {
      const pipeline = i.stateMachineArn!.split(":").pop()!.slice(`keel-${opts.stage}-`.length);
      if (!opts.machines(pipeline))
        throw new StateMachineDoesNotExist({ message: `no ${i.stateMachineArn}`, $metadata: {} });
      const r = await translate(() =>
        local.start({ pipeline, name: i.name!, input: JSON.parse(i.input ?? "{}") }),
      );
      return { executionArn: executionArn(pipeline, i.name!), startDate: new Date(r.startTime) };
    },
    async DescribeExecution(i) {
      const d = await translate(() => local.describe(localId(i.executionArn!)));
      return {
        executionArn: i.executionArn,
        stateMachineArn: arnOf(d.pipeline),
        name: d.name,
        status: d.status,
        startDate: new Date(d.startTime),
        stopDate: d.stopTime === undefined ? undefined : new Date(d.stopTime),
        output: d.output === undefined ? undefined : JSON.stringify(d.output),
        error: d.error,
        cause: d.cause,
      };
    },
    async GetExecutionHistory(i) {
      const id = localId(i.executionArn!);
      const events = await translate(() => local.history(id));
      const pipeline = id.split(":")[1];
      const all = toHistory(events, opts.machines(pipeline)!.definition);
      const start = i.nextToken ? Number(i.nextToken) : 0;
      const page = all.slice(start, start + (i.maxResults ?? 100));
      const next = start + page.length < all.length ? String(start + page.length) : undefined;
      return { events: page, nextToken: next };
    },
    async StopExecution(i) {
      await translate(() => local.stop(localId(i.executionArn!), { error: i.error, cause: i.cause }));
      return { stopDate: new Date() };
    },
  };

  const client = new SFNClient({
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
  });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const req = args.request as { headers: Record<string, string>; body: string };
      const target = req.headers["x-amz-target"];
      const body = JSON.parse(req.body) as Record<string, unknown>;
      requests.push({ target, body });
      const op = target.replace("AWSStepFunctions.", "") as keyof Handlers;
      if (context.commandName !== `${op}Command`)
        throw new Error(`target ${target} does not match ${context.commandName}`);
      // The body is what the SDK serialized from the typed command input; hand it on as that type.
      const output = await (handlers[op] as (i: unknown) => unknown)(body);
      return { output: { ...meta, ...(output as object) }, response: {} } as never;
    },
    { step: "build", name: "fakeStepFunctions" },
  );
  return { client, requests, local };
}

function stateTypes(
  def: { States: Record<string, Record<string, unknown>> },
  into = new Map<string, { Type: string; Resource?: string }>(),
) {
  for (const [name, st] of Object.entries(def.States)) {
    into.set(name, { Type: st.Type as string, Resource: st.Resource as string | undefined });
    if (st.Type === "Map") stateTypes(st.ItemProcessor as never, into);
    if (st.Type === "Parallel") for (const b of st.Branches as never[]) stateTypes(b, into);
  }
  return into;
}

/** The in-process runner's events in Step Functions' shapes, chained by previousEventId per map element. */
function toHistory(events: ExecutionEvent[], def: AslDefinition): HistoryEvent[] {
  const types = stateTypes(def as never);
  const out: HistoryEvent[] = [];
  const lastInLane = new Map<string, number>();
  const push = (
    lane: string,
    e: Omit<HistoryEvent, "id" | "previousEventId" | "timestamp">,
    time: number,
  ) => {
    const id = out.length + 1;
    out.push({
      ...e,
      id,
      previousEventId: lastInLane.get(lane) ?? lastInLane.get("main") ?? 0,
      timestamp: new Date(time),
    } as HistoryEvent);
    lastInLane.set(lane, id);
  };
  for (const e of events) {
    const lane = e.index === undefined ? "main" : `item${e.index}`;
    if (e.index !== undefined && !lastInLane.has(lane)) {
      push(
        lane,
        {
          type: "MapIterationStarted",
          mapIterationStartedEventDetails: { name: "map", index: e.index },
        } as never,
        e.time,
      );
    }
    const t = e.state ? types.get(e.state) : undefined;
    const lambda = t?.Resource?.startsWith("arn:aws:lambda:");
    switch (e.type) {
      case "ExecutionStarted":
        push(
          lane,
          { type: "ExecutionStarted", executionStartedEventDetails: { input: JSON.stringify(e.input) } },
          e.time,
        );
        break;
      case "ExecutionSucceeded":
        push(
          lane,
          {
            type: "ExecutionSucceeded",
            executionSucceededEventDetails: { output: JSON.stringify(e.output) },
          },
          e.time,
        );
        break;
      case "ExecutionFailed":
        push(
          lane,
          { type: "ExecutionFailed", executionFailedEventDetails: { error: e.error, cause: e.cause } },
          e.time,
        );
        break;
      case "ExecutionAborted":
        push(
          lane,
          { type: "ExecutionAborted", executionAbortedEventDetails: { error: e.error, cause: e.cause } },
          e.time,
        );
        break;
      case "ExecutionTimedOut":
        push(lane, { type: "ExecutionTimedOut", executionTimedOutEventDetails: {} }, e.time);
        break;
      case "StateEntered":
        push(
          lane,
          {
            type: `${t!.Type}StateEntered` as never,
            stateEnteredEventDetails: { name: e.state!, input: JSON.stringify(e.input) },
          },
          e.time,
        );
        if (t?.Type === "Task")
          push(lane, lambda ? { type: "LambdaFunctionScheduled" } : { type: "TaskScheduled" }, e.time);
        break;
      case "StateRetried":
        if (t?.Type === "Task")
          push(lane, lambda ? { type: "LambdaFunctionScheduled" } : { type: "TaskScheduled" }, e.time);
        break;
      case "StateFailed":
        if (t?.Type === "Task") {
          push(
            lane,
            lambda
              ? {
                  type: "LambdaFunctionFailed",
                  lambdaFunctionFailedEventDetails: { error: e.error, cause: e.cause },
                }
              : {
                  type: "TaskFailed",
                  taskFailedEventDetails: {
                    error: e.error,
                    cause: e.cause,
                    resource: t.Resource,
                    resourceType: "sagemaker",
                  },
                },
            e.time,
          );
        }
        break;
      case "StateExited":
        push(
          lane,
          {
            type: `${t!.Type}StateExited` as never,
            stateExitedEventDetails: { name: e.state!, output: JSON.stringify(e.output) },
          },
          e.time,
        );
        break;
    }
  }
  return out;
}
