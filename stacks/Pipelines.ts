import {
  type BuiltinStepKind,
  BuiltinStepRegistry,
  compilePipeline,
  type PipelineDefinition,
  stateMachineName,
  toEventBridgeCron,
} from "@keel/pipelines";
import { ragIngestStep } from "@keel/rag";
import { lambdaValidateStepKind } from "@keel/validation";
import { Annotations, Duration, Stack } from "aws-cdk-lib";
import { Effect, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
  TimeWindow,
} from "aws-cdk-lib/aws-scheduler";
import { StepFunctionsStartExecution } from "aws-cdk-lib/aws-scheduler-targets";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { DefinitionBody, LogLevel, StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { type Function as SstFunction, type StackContext, use } from "sst/constructs";
import { removalPolicy } from "./app";
import { ENV } from "./env";
import { Features } from "./Features";
import { grantPrefix, grantTable, keelFunction, platformEnv } from "./functions";
import { Llm } from "./Llm";
import { resourceEndingWith, suppress } from "./nag";
import { loadProjectPipelines } from "./project";
import { ragRuntime } from "./rag-runtime";
import { PREFIX, Storage } from "./Storage";
import { stageSettings } from "./settings";
import { grantAthenaValidation } from "./validation";

/** Placeholders the compiled ASL carries; `definitionSubstitutions` fills them per stage. */
const SUBST = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Step Functions definition substitution, not a JS template
  stepFunction: "${StepFunctionArn}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Step Functions definition substitution, not a JS template
  sagemakerRole: "${SageMakerRoleArn}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Step Functions definition substitution, not a JS template
  artifacts: "${ArtifactS3Uri}",
} as const;

/**
 * Pipelines this stack deploys (the project's, named at deploy: stacks/project.ts) and the
 * built-in step kinds they may use; tests pass their own.
 */
export const pipelineSources: { pipelines: PipelineDefinition[]; builtins: BuiltinStepRegistry } = {
  pipelines: await loadProjectPipelines(),
  // The kinds the step Lambda registers (@keel/app awsBuiltinSteps; tests check both agree):
  // `validate` runs in the step Lambda with Athena (its grants: stacks/validation.ts);
  // `rag.ingest` compiles (its config checked) and runs in the step Lambda over LanceDB on S3.
  builtins: new BuiltinStepRegistry([
    lambdaValidateStepKind(),
    ragIngestStep(() => {
      throw new Error("rag.ingest runs in the step Lambda, not at synthesis");
    }) as BuiltinStepKind<unknown>,
  ]),
};

/** Whether a pipeline has a `rag.ingest` step (its step Lambda then reads and writes LanceDB on S3). */
const ingestsKnowledge = (def: PipelineDefinition) =>
  def.steps.some((s) => s.kind === "builtin" && s.uses === "rag.ingest");

const placeholders = (region: string, account: string) => ({
  region,
  account,
  stepFunctionArn: SUBST.stepFunction,
  sagemakerRoleArn: SUBST.sagemakerRole,
  artifactS3Uri: SUBST.artifacts,
});

const pascal = (name: string) => name.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

/**
 * Every registered pipeline as a Step Functions state machine (`keel-<stage>-<pipeline>`,
 * compiled from the same TypeScript the local runner executes), each with:
 *  - its task Lambda (`functions/pipeline-step.ts`) for input validation and lambda steps;
 *  - a least-privilege role: invoke that Lambda; for container steps, SageMaker training jobs
 *    named by the run, PassRole of its own SageMaker role only, the managed EventBridge rule
 *    `.sync` needs; plus what its built-in steps declare;
 *  - a SageMaker execution role limited to the pipeline's artifact prefix (container steps);
 *  - full execution logging and X-Ray tracing;
 *  - an EventBridge Scheduler schedule when the pipeline declares one.
 */
export function Pipelines({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const { table, bucket, key } = use(Storage);
  const { scheduleDlq, offlineEnv, glueDatabaseName, workgroup } = use(Features);
  const { region, account } = Stack.of(stack);
  const machines: Record<string, StateMachine> = {};
  // Only stages with a `rag.ingest` pipeline depend on the Llm stack (its gateway embeds chunks).
  const gatewayUrl = pipelineSources.pipelines.some(ingestsKnowledge) ? use(Llm).gatewayUrl : undefined;

  for (const def of pipelineSources.pipelines) {
    const id = pascal(def.name);
    // asl-validator checks Resource fields against ARN patterns, which the substitution
    // placeholders are not: validate the local binding, then bind the placeholders (the
    // compiler is deterministic, so both differ only in those strings).
    compilePipeline(def, { builtins: pipelineSources.builtins });
    const compiled = compilePipeline(def, {
      builtins: pipelineSources.builtins,
      bindings: placeholders(region, account),
      validate: false,
    });
    const lambdaMemory = Math.max(
      1024,
      ...def.steps.map((s) =>
        s.kind === "lambda" ? s.memory : s.kind === "map" && s.run.kind === "lambda" ? s.run.memory : 0,
      ),
    );
    // Only pipelines with a `validate` step get Athena, Glue and the offline prefix.
    const validates = def.steps.some((s) => {
      const body = s.kind === "map" ? s.run : s;
      return body.kind === "builtin" && body.uses === "validate";
    });
    const ingests = ingestsKnowledge(def);
    const stepFn = keelFunction(stack, `${id}StepFn`, {
      handler: "functions/pipeline-step.handler",
      description: `Keel pipeline ${def.name}: input validation and lambda steps`,
      memorySize: lambdaMemory,
      timeout: 900,
      // rag.ingest opens LanceDB and reads PDFs: both ship in the bundle for its architecture.
      ...(ingests ? ragRuntime({ pdf: true }) : {}),
      environment: {
        ...platformEnv(app.stage, table, bucket, PREFIX.artifacts),
        ...(validates ? offlineEnv : {}),
        ...(ingests && gatewayUrl
          ? { [ENV.RAG_ROOT]: `s3://${bucket.bucketName}/${PREFIX.rag}`, [ENV.RAG_LLM_URL]: gatewayUrl }
          : {}),
      },
    });
    grantTable(stepFn, table, key, "readwrite");
    grantPrefix(stepFn, bucket, key, PREFIX.artifacts, "readwrite");
    if (validates) grantAthenaValidation(stepFn, { bucket, key, glueDatabaseName, workgroup });
    // rag.ingest: LanceDB tables under the stage bucket's rag/ (the API reads the same root).
    if (ingests) grantPrefix(stepFn, bucket, key, PREFIX.rag, "readwrite");
    if (ingests) ingestKey(stepFn, def.name, settings.rag.ingestKeySecretName);

    const role = new Role(stack, `${id}StateMachineRole`, {
      assumedBy: new ServicePrincipal("states.amazonaws.com"),
      description: `Runs the Keel pipeline ${def.name}`,
    });
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ["lambda:InvokeFunction"],
        resources: [stepFn.functionArn],
      }),
    );

    const usesContainers = JSON.stringify(compiled.definition).includes("sagemaker:createTrainingJob.sync");
    let sagemakerRoleArn = `arn:aws:iam::${account}:role/none`;
    if (usesContainers) {
      const smRole = new Role(stack, `${id}SageMakerRole`, {
        assumedBy: new ServicePrincipal("sagemaker.amazonaws.com"),
        description: `SageMaker training jobs of the Keel pipeline ${def.name}`,
      });
      const prefix = `${PREFIX.artifacts}pipelines/${def.name}/`;
      smRole.addToPolicy(
        new PolicyStatement({
          actions: ["s3:GetObject"],
          resources: [bucket.arnForObjects(`${PREFIX.artifacts}*`)],
        }),
      );
      smRole.addToPolicy(
        new PolicyStatement({ actions: ["s3:PutObject"], resources: [bucket.arnForObjects(`${prefix}*`)] }),
      );
      smRole.addToPolicy(
        new PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { "s3:prefix": [`${PREFIX.artifacts}*`] } },
        }),
      );
      smRole.addToPolicy(
        new PolicyStatement({ actions: ["kms:Decrypt", "kms:GenerateDataKey"], resources: [key.keyArn] }),
      );
      smRole.addToPolicy(new PolicyStatement({ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }));
      smRole.addToPolicy(
        new PolicyStatement({
          actions: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
          resources: [`arn:aws:ecr:${region}:${account}:repository/*`],
        }),
      );
      smRole.addToPolicy(
        new PolicyStatement({
          actions: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [`arn:aws:logs:${region}:${account}:log-group:/aws/sagemaker/TrainingJobs:*`],
        }),
      );
      suppress(smRole, [
        [
          "AwsSolutions-IAM5",
          `Training jobs read inputs anywhere in the artifact store and write models only under ${prefix}; object keys are made at run time.`,
          [resourceEndingWith(`/${PREFIX.artifacts}*`), resourceEndingWith(`/${prefix}*`)],
        ],
        [
          "AwsSolutions-IAM5",
          "Training images come from this account's ECR repositories, named per project; pulls are read-only.",
          [resourceEndingWith(":repository/*")],
        ],
        [
          "AwsSolutions-IAM5",
          "ecr:GetAuthorizationToken has no resource-level permissions (Resource '*').",
          ["Resource::*"],
        ],
        [
          "AwsSolutions-IAM5",
          "SageMaker writes one log stream per training job in its fixed log group.",
          [resourceEndingWith("/aws/sagemaker/TrainingJobs:*")],
        ],
      ]);
      sagemakerRoleArn = smRole.roleArn;
      role.addToPolicy(
        new PolicyStatement({
          actions: [
            "sagemaker:CreateTrainingJob",
            "sagemaker:DescribeTrainingJob",
            "sagemaker:StopTrainingJob",
            "sagemaker:AddTags",
          ],
          resources: [`arn:aws:sagemaker:${region}:${account}:training-job/*`],
        }),
      );
      role.addToPolicy(
        new PolicyStatement({
          actions: ["iam:PassRole"],
          resources: [smRole.roleArn],
          conditions: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
        }),
      );
      role.addToPolicy(
        new PolicyStatement({
          actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
          resources: [
            `arn:aws:events:${region}:${account}:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule`,
          ],
        }),
      );
    }
    for (const step of def.steps) {
      const body = step.kind === "map" ? step.run : step;
      if (body.kind !== "builtin") continue;
      const kind = pipelineSources.builtins.get(body.uses);
      const task = kind.asl?.(kind.input.parse(body.with), {
        pipeline: def.name,
        step: step.name,
        bindings: placeholders(region, account),
      });
      for (const st of task?.policy ?? [])
        role.addToPolicy(new PolicyStatement({ actions: st.actions, resources: st.resources }));
    }

    const logs = new LogGroup(stack, `${id}Logs`, {
      logGroupName: `/aws/vendedlogs/states/keel-${app.stage}-${def.name}`,
      retention: settings.logRetentionDays,
      removalPolicy: removalPolicy(settings),
    });
    const machine = new StateMachine(stack, `${id}StateMachine`, {
      stateMachineName: stateMachineName(app.stage, def.name),
      definitionBody: DefinitionBody.fromString(JSON.stringify(compiled.definition)),
      definitionSubstitutions: {
        StepFunctionArn: stepFn.functionArn,
        SageMakerRoleArn: sagemakerRoleArn,
        ArtifactS3Uri: `s3://${bucket.bucketName}/${PREFIX.artifacts}pipelines/`,
      },
      role,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    suppress(role, [
      [
        "AwsSolutions-IAM5",
        "Training job names are generated per run (States.UUID()), so the grant covers this account's training jobs in this region.",
        [resourceEndingWith(":training-job/*")],
      ],
      [
        "AwsSolutions-IAM5",
        "CloudWatch Logs vended delivery and X-Ray tracing actions have no resource-level permissions (Resource '*'); CDK adds exactly those for logging and tracing.",
        ["Resource::*"],
      ],
      [
        "AwsSolutions-IAM5",
        "CDK's invoke grant covers the step function's versions (<function arn>:*); this one function only.",
        [resourceEndingWith(":*")],
      ],
    ]);

    if (def.schedule?.enabled) {
      const schedulerRole = new Role(stack, `${id}ScheduleRole`, {
        assumedBy: new ServicePrincipal("scheduler.amazonaws.com"),
      });
      new Schedule(stack, `${id}Schedule`, {
        description: `Starts the Keel pipeline ${def.name} (${def.schedule.cron} UTC)`,
        schedule: ScheduleExpression.expression(toEventBridgeCron(def.schedule.cron)),
        timeWindow: TimeWindow.off(),
        target: new StepFunctionsStartExecution(machine, {
          role: schedulerRole,
          input: ScheduleTargetInput.fromObject({
            params: def.schedule.params,
            scheduledTime: ContextAttribute.scheduledTime,
          }),
          deadLetterQueue: scheduleDlq,
          retryAttempts: 2,
          maxEventAge: Duration.hours(6),
        }),
      });
      suppress(schedulerRole, [
        [
          "AwsSolutions-IAM5",
          "Sending to the KMS-encrypted dead-letter queue needs the data key's GenerateDataKey*/ReEncrypt* (CDK's SQS grant).",
          ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"],
        ],
      ]);
    }
    machines[def.name] = machine;
  }
  stack.addOutputs(
    Object.fromEntries(
      Object.entries(machines).map(([n, m]) => [`${pascal(n)}StateMachineArn`, m.stateMachineArn]),
    ),
  );
  return { machines };
}

/**
 * The gateway key `rag.ingest` embeds with: the step Lambda has no caller whose token could go
 * along, so it reads a virtual key from the stage's secret (settings.rag.ingestKeySecretName).
 * Without one, only knowledge bases with no embedding route can be ingested: synthesis warns.
 */
function ingestKey(fn: SstFunction, pipeline: string, secretName: string | undefined): void {
  if (!secretName) {
    Annotations.of(fn).addWarning(
      `pipeline ${pipeline} runs rag.ingest but settings.rag.ingestKeySecretName is unset: embedding calls to the gateway will be refused (401); store a gateway key in Secrets Manager and name it there`,
    );
    return;
  }
  const secret = Secret.fromSecretNameV2(fn.stack, `${fn.node.id}IngestKey`, secretName);
  secret.grantRead(fn);
  fn.addEnvironment(ENV.RAG_LLM_API_KEY_SECRET, secretName);
}
