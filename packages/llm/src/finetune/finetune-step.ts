import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuiltinStepKind, type JsonObject, runContainerProcess, StepFailure } from "@keel/pipelines";
import { z } from "zod";
import { downloadTrainingData } from "./training-data";

const CHANNEL = "training";

export const finetuneInput = z
  .object({
    /** The base model the adapter is trained on (a Hugging Face id or an S3 URI the image understands). */
    baseModel: z.string().min(1),
    /** The training image (e.g. a Hugging Face PEFT/TRL training container in ECR). */
    image: z.string().min(1),
    instanceType: z
      .string()
      .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, "a SageMaker instance type, e.g. ml.g5.2xlarge"),
    instanceCount: z.number().int().min(1).max(64).default(1),
    volumeSizeInGB: z.number().int().min(1).max(16384).default(100),
    /** LoRA hyperparameters (rank, alpha, learning rate, epochs...); SageMaker takes them as strings. */
    hyperparameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** The training data: an s3:// prefix in AWS, a path or URI inside the artifact store locally. */
    trainingData: z.string().min(1),
    maxRuntimeSeconds: z.number().int().min(60).max(2_419_200).default(86_400),
    tags: z.record(z.string(), z.string()).default({}),
    env: z.record(z.string(), z.string()).default({}),
    /** argv that trains on this machine (local runs only), with SageMaker's environment. */
    localCommand: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();
export type FinetuneInput = z.output<typeof finetuneInput>;

/** SageMaker's HyperParameters: a string map (base_model included, so the container needs one input). */
export function hyperParameters(i: FinetuneInput): Record<string, string> {
  const out: Record<string, string> = { base_model: i.baseModel };
  for (const [k, v] of Object.entries(i.hyperparameters)) out[k] = String(v);
  return out;
}

/** Static part of the step's output (its ResultSelector): what registration reads besides the artifact. */
function lineage(i: FinetuneInput): JsonObject {
  return { baseModel: i.baseModel, hyperparameters: hyperParameters(i), trainingData: i.trainingData };
}

/**
 * `llm-finetune`: a LoRA fine-tune. In AWS a SageMaker training job (`createTrainingJob.sync`:
 * the image, instance type and count, hyperparameters, the training channel from S3, the
 * adapter written under the artifact prefix); locally `localCommand` runs as a process with
 * SageMaker's environment (SM_CHANNEL_TRAINING, SM_HPS, SM_HP_*, SM_MODEL_DIR), and what it
 * writes to SM_MODEL_DIR becomes the adapter artifact.
 */
export function finetuneStepKind(): BuiltinStepKind<FinetuneInput> {
  return {
    name: "llm-finetune",
    description: "LoRA fine-tune as a SageMaker training job (locally: with.localCommand)",
    input: finetuneInput,
    async run(i, ctx) {
      if (!i.localCommand)
        throw new StepFailure(
          "Keel.InvalidInput",
          `step "${ctx.step}" (llm-finetune) needs SageMaker: deploy the pipeline to AWS, or give with.localCommand (argv) to train on this machine`,
        );
      const work = await mkdtemp(join(tmpdir(), "keel-finetune-"));
      try {
        const data = join(work, "input", "data", CHANNEL);
        const config = join(work, "input", "config");
        const output = join(work, "output");
        await Promise.all([mkdir(data, { recursive: true }), mkdir(config, { recursive: true })]);
        await mkdir(output, { recursive: true });
        await downloadTrainingData(ctx.artifacts, i.trainingData, data);
        const hps = hyperParameters(i);
        await writeFile(join(config, "hyperparameters.json"), JSON.stringify(hps));
        const env: Record<string, string> = {
          ...i.env,
          SM_CHANNELS: JSON.stringify([CHANNEL]),
          SM_CHANNEL_TRAINING: data,
          SM_INPUT_DIR: join(work, "input"),
          SM_INPUT_CONFIG_DIR: config,
          SM_OUTPUT_DATA_DIR: output,
          SM_HPS: JSON.stringify(hps),
          SM_NUM_GPUS: "0",
          KEEL_PIPELINE: ctx.pipeline,
          KEEL_STEP: ctx.step,
          KEEL_RUN_ID: ctx.runId,
          KEEL_BASE_MODEL: i.baseModel,
        };
        for (const [k, v] of Object.entries(hps)) env[`SM_HP_${k.toUpperCase()}`] = v;
        const { artifactUri } = await runContainerProcess({
          command: i.localCommand,
          env,
          timeoutSeconds: i.maxRuntimeSeconds,
          artifacts: ctx.artifacts,
          modelPath: `${ctx.artifactPrefix}/adapter`,
          log: (l) => ctx.log(l),
        });
        // The shape createTrainingJob.sync returns, so the same ResultSelector applies locally.
        return {
          TrainingJobName: `${ctx.runId}-${ctx.step}`,
          ModelArtifacts: { S3ModelArtifacts: artifactUri },
        };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    asl(i, { pipeline, step, bindings }) {
      const tags = {
        ...i.tags,
        "keel:pipeline": pipeline,
        "keel:step": step,
        "keel:base-model": i.baseModel.slice(0, 256),
      };
      return {
        Resource: "arn:aws:states:::sagemaker:createTrainingJob.sync",
        Parameters: {
          // Unique per attempt: SageMaker refuses to reuse a training job name, also on retry.
          "TrainingJobName.$": "States.UUID()",
          AlgorithmSpecification: { TrainingImage: i.image, TrainingInputMode: "File" },
          HyperParameters: hyperParameters(i),
          InputDataConfig: [
            {
              ChannelName: CHANNEL,
              DataSource: {
                S3DataSource: {
                  S3DataType: "S3Prefix",
                  S3Uri: i.trainingData,
                  S3DataDistributionType: "FullyReplicated",
                },
              },
            },
          ],
          OutputDataConfig: { S3OutputPath: `${bindings.artifactS3Uri}${pipeline}/${step}/` },
          ResourceConfig: {
            InstanceCount: i.instanceCount,
            InstanceType: i.instanceType,
            VolumeSizeInGB: i.volumeSizeInGB,
          },
          RoleArn: bindings.sagemakerRoleArn,
          StoppingCondition: { MaxRuntimeInSeconds: i.maxRuntimeSeconds },
          Environment: {
            ...i.env,
            KEEL_PIPELINE: pipeline,
            KEEL_STEP: step,
            "KEEL_RUN_ID.$": "$.keel.runId",
            "KEEL_PARAMS.$": "States.JsonToString($.keel.params)",
            "KEEL_NO_CACHE.$": "States.JsonToString($.keel.noCache)",
            KEEL_BASE_MODEL: i.baseModel,
          },
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        },
        ResultSelector: {
          "artifactUri.$": "$.ModelArtifacts.S3ModelArtifacts",
          "jobName.$": "$.TrainingJobName",
          ...lineage(i),
        },
        policy: [
          {
            actions: [
              "sagemaker:CreateTrainingJob",
              "sagemaker:DescribeTrainingJob",
              "sagemaker:StopTrainingJob",
              "sagemaker:AddTags",
            ],
            resources: [`arn:aws:sagemaker:${bindings.region}:${bindings.account}:training-job/*`],
          },
          {
            actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources: [
              `arn:aws:events:${bindings.region}:${bindings.account}:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule`,
            ],
          },
          { actions: ["iam:PassRole"], resources: [bindings.sagemakerRoleArn] },
        ],
      };
    },
  };
}
