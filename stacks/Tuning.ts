import { stateMachineName } from "@keel/pipelines";
import { compileTuning, type TuningDefinition } from "@keel/tuning";
import { Stack } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { type StackContext, use } from "sst/constructs";
import { removalPolicy } from "./app";
import { grantTable, keelFunction, platformEnv } from "./functions";
import { resourceEndingWith, suppress } from "./nag";
import { Pipelines } from "./Pipelines";
import { loadProjectTunings } from "./project";
import { PREFIX, Storage } from "./Storage";
import { stageSettings } from "./settings";

/** The tuning definitions this stack deploys (the project's exports); tests pass their own. */
export const tuningSources: { tunings: TuningDefinition[] } = { tunings: await loadProjectTunings() };

/** Placeholders in the compiled ASL; `definitionSubstitutions` fills them per stage. */
const SUBST = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Step Functions definition substitution
  controller: "${ControllerFunctionArn}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Step Functions definition substitution
  pipeline: "${PipelineStateMachineArn}",
} as const;

const pascal = (name: string) => name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

/**
 * Refuses, naming the tuning, what has no AWS form: trials that run in-process (`run` or
 * `trainStep`), and a tuned pipeline the project does not register.
 */
export function assertDeployable(tunings: TuningDefinition[], pipelines: string[]): void {
  for (const { spec } of tunings) {
    if (spec.trial.kind !== "pipeline")
      throw new Error(
        `tuning "${spec.name}" runs its trials in-process (${spec.trial.kind}); only pipeline trials deploy to AWS: tune a pipeline, or run it locally with \`keel tune\``,
      );
    if (!pipelines.includes(spec.trial.pipeline))
      throw new Error(
        `tuning "${spec.name}" tunes pipeline "${spec.trial.pipeline}", which this project does not register`,
      );
  }
}

/**
 * Every tuning definition of the project as a Step Functions state machine
 * (`keel-<stage>-tune-<name>`, compiled by @keel/tuning's compileTuning): a controller Lambda
 * (functions/tuning-controller.ts) suggests and records trials in the platform table, and each
 * trial is a run of the tuned pipeline's state machine (startExecution.sync:2). Least privilege:
 * the controller reads and writes the table only; a tuning's role invokes the controller and
 * starts, describes and stops executions of its one pipeline.
 *
 * Trials that run in-process (`run` or `trainStep`) have no AWS form: synthesis refuses them,
 * naming the tuning, rather than deploying a machine whose trials cannot run.
 */
export function Tuning({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const { table, bucket, key } = use(Storage);
  const { machines: pipelineMachines } = use(Pipelines);
  const { region, account } = Stack.of(stack);
  const machines: Record<string, StateMachine> = {};

  assertDeployable(tuningSources.tunings, Object.keys(pipelineMachines));

  const controller = keelFunction(stack, "TuningControllerFn", {
    handler: "functions/tuning-controller.handler",
    description: "Keel tuning controller: suggests, records and finishes trials",
    memorySize: 1024,
    timeout: 120, // the state machine's controller tasks time out at 120 s
    environment: platformEnv(app.stage, table, bucket, PREFIX.artifacts),
  });
  // Experiments and trials live in the platform table; the controller touches nothing else.
  // It exists even with no tunings: a stack must hold a resource, and idle it costs nothing.
  grantTable(controller, table, key, "readwrite");

  for (const def of tuningSources.tunings) {
    const { name } = def.spec;
    const pipelineName = (def.spec.trial as { pipeline: string }).pipeline;
    const pipeline = pipelineMachines[pipelineName];
    const id = `Tune${pascal(name)}`;
    const machineName = stateMachineName(app.stage, `tune-${name}`);
    const role = new Role(stack, `${id}Role`, {
      assumedBy: new ServicePrincipal("states.amazonaws.com"),
      description: `Runs the Keel tuning ${name}`,
    });
    role.addToPolicy(
      new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [controller.functionArn] }),
    );
    role.addToPolicy(
      new PolicyStatement({ actions: ["states:StartExecution"], resources: [pipeline.stateMachineArn] }),
    );
    // startExecution.sync:2 polls and, on abort, stops the trial's execution, and watches it via
    // the managed EventBridge rule Step Functions creates for that integration.
    const pipelineExecutions = `arn:aws:states:${region}:${account}:execution:${stateMachineName(app.stage, pipelineName)}:*`;
    role.addToPolicy(
      new PolicyStatement({
        actions: ["states:DescribeExecution", "states:StopExecution"],
        resources: [pipelineExecutions],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources: [
          `arn:aws:events:${region}:${account}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
        ],
      }),
    );
    const logs = new LogGroup(stack, `${id}Logs`, {
      logGroupName: `/aws/vendedlogs/states/${machineName}`,
      retention: settings.logRetentionDays,
      removalPolicy: removalPolicy(settings),
    });
    const definition = compileTuning(def.spec, {
      controllerFunctionArn: SUBST.controller,
      pipelineStateMachineArn: SUBST.pipeline,
    });
    machines[name] = new StateMachine(stack, `${id}StateMachine`, {
      stateMachineName: machineName,
      definitionBody: DefinitionBody.fromString(JSON.stringify(definition)),
      definitionSubstitutions: {
        ControllerFunctionArn: controller.functionArn,
        PipelineStateMachineArn: pipeline.stateMachineArn,
      },
      role,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    suppress(role, [
      [
        "AwsSolutions-IAM5",
        "Trial executions are named per trial at run time (tune-<execution>-<trial>-<attempt>), so the grant covers the executions of the tuned pipeline's one state machine.",
        [resourceEndingWith(":*")],
      ],
      [
        "AwsSolutions-IAM5",
        "CloudWatch Logs vended delivery and X-Ray tracing actions have no resource-level permissions (Resource '*'); CDK adds exactly those for logging and tracing.",
        ["Resource::*"],
      ],
    ]);
  }
  stack.addOutputs(
    Object.fromEntries(
      Object.entries(machines).map(([n, m]) => [`Tune${pascal(n)}StateMachineArn`, m.stateMachineArn]),
    ),
  );
  return { machines };
}
