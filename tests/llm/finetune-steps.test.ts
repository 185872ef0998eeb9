import { createHash } from "node:crypto";
import type { CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import { finetuneStepKind, registerAdapterStepKind } from "@keel/llm";
import { BuiltinStepRegistry, compilePipeline, definePipeline } from "@keel/pipelines";
import { registryRegistrar } from "@keel/tuning";
import validator from "asl-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startTestPlatform } from "../helpers/platform";

const DATA = '{"prompt":"hi","completion":"hello"}\n{"prompt":"bye","completion":"goodbye"}\n';
/** A "trainer" that reads SageMaker's environment and writes an adapter to SM_MODEL_DIR. */
const TRAINER = `
const fs = require("node:fs"), path = require("node:path");
const rows = fs.readFileSync(path.join(process.env.SM_CHANNEL_TRAINING, "train.jsonl"), "utf8").trim().split("\\n");
const hps = JSON.parse(fs.readFileSync(path.join(process.env.SM_INPUT_CONFIG_DIR, "hyperparameters.json"), "utf8"));
fs.writeFileSync(path.join(process.env.SM_MODEL_DIR, "adapter_config.json"), JSON.stringify({
  base_model_name_or_path: process.env.SM_HP_BASE_MODEL, r: Number(process.env.SM_HP_LORA_R), rows: rows.length, hps }));
fs.writeFileSync(path.join(process.env.SM_MODEL_DIR, "adapter_model.safetensors"), "weights");
console.log("trained on " + rows.length + " rows");
`;

const finetuneWith = {
  baseModel: "meta-llama/Llama-3.1-8B-Instruct",
  image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/keel-lora-train:1",
  instanceType: "ml.g5.2xlarge",
  hyperparameters: { lora_r: 16, lora_alpha: 32, learning_rate: 0.0002, epochs: 3 },
  trainingData: "s3://bank-ml-data/chat/train/",
  maxRuntimeSeconds: 7200,
  tags: { team: "cx" },
};

/** Replaces every `"<key>.$": <path>` by `"<key>": "resolved"`, as Step Functions would with values. */
function resolved(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolved);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => (k.endsWith(".$") ? [k.slice(0, -2), "resolved"] : [k, resolved(x)])),
    );
  return v;
}

describe("llm-finetune in AWS: a SageMaker training job", () => {
  const builtins = new BuiltinStepRegistry([
    finetuneStepKind(),
    registerAdapterStepKind({
      tracking: {} as never,
      registrar: {} as never,
    }) as never,
  ]);
  const pipeline = definePipeline({
    name: "lora-chat",
    params: z.object({}),
    steps: [
      { name: "finetune", kind: "builtin", uses: "llm-finetune", with: finetuneWith },
      {
        name: "register",
        kind: "builtin",
        uses: "llm-register-adapter",
        dependsOn: ["finetune"],
        with: { model: "chat-lora", from: "finetune" },
      },
    ],
  });

  it("compiles to createTrainingJob.sync whose Parameters are a CreateTrainingJobRequest", () => {
    const compiled = compilePipeline(pipeline, {
      builtins,
      bindings: {
        sagemakerRoleArn: "arn:aws:iam::123456789012:role/keel-sagemaker",
        artifactS3Uri: "s3://keel-artifacts/pipelines/",
      },
    });
    const check = validator(structuredClone(compiled.definition), { checkPaths: true, checkArn: true });
    expect(check.isValid, check.errorsText("; ")).toBe(true);
    const state = compiled.definition.States.finetune as Record<string, unknown>;
    expect(state.Resource).toBe("arn:aws:states:::sagemaker:createTrainingJob.sync");
    expect(state.ResultPath).toBe("$.steps.finetune");
    // The SDK's type checks this literal; the compiled Parameters must equal it.
    const expected: CreateTrainingJobRequest = {
      TrainingJobName: "resolved",
      AlgorithmSpecification: { TrainingImage: finetuneWith.image, TrainingInputMode: "File" },
      HyperParameters: {
        base_model: finetuneWith.baseModel,
        lora_r: "16",
        lora_alpha: "32",
        learning_rate: "0.0002",
        epochs: "3",
      },
      InputDataConfig: [
        {
          ChannelName: "training",
          DataSource: {
            S3DataSource: {
              S3DataType: "S3Prefix",
              S3Uri: "s3://bank-ml-data/chat/train/",
              S3DataDistributionType: "FullyReplicated",
            },
          },
        },
      ],
      OutputDataConfig: { S3OutputPath: "s3://keel-artifacts/pipelines/lora-chat/finetune/" },
      ResourceConfig: { InstanceCount: 1, InstanceType: "ml.g5.2xlarge", VolumeSizeInGB: 100 },
      RoleArn: "arn:aws:iam::123456789012:role/keel-sagemaker",
      StoppingCondition: { MaxRuntimeInSeconds: 7200 },
      Environment: {
        KEEL_PIPELINE: "lora-chat",
        KEEL_STEP: "finetune",
        KEEL_RUN_ID: "resolved",
        KEEL_PARAMS: "resolved",
        KEEL_NO_CACHE: "resolved",
        KEEL_BASE_MODEL: finetuneWith.baseModel,
      },
      Tags: [
        { Key: "team", Value: "cx" },
        { Key: "keel:pipeline", Value: "lora-chat" },
        { Key: "keel:step", Value: "finetune" },
        { Key: "keel:base-model", Value: finetuneWith.baseModel },
      ],
    };
    expect(resolved(state.Parameters)).toEqual(expected);
    for (const v of Object.values((state.Parameters as { HyperParameters: object }).HyperParameters))
      expect(typeof v).toBe("string");
    expect(state.ResultSelector).toMatchObject({
      "artifactUri.$": "$.ModelArtifacts.S3ModelArtifacts",
      baseModel: finetuneWith.baseModel,
      trainingData: finetuneWith.trainingData,
    });
    // Registration runs in the step Lambda (it has no direct integration).
    expect((compiled.definition.States.register as { Resource: string }).Resource).toContain(":function:");
  });

  it("refuses a bad configuration at compile time", () => {
    const bad = definePipeline({
      name: "bad-lora",
      params: z.object({}),
      steps: [
        {
          name: "finetune",
          kind: "builtin",
          uses: "llm-finetune",
          with: { ...finetuneWith, instanceType: "g5" },
        },
      ],
    });
    expect(() => compilePipeline(bad, { builtins })).toThrow(/instanceType: a SageMaker instance type/);
  });
});

describe("llm-finetune and llm-register-adapter locally", () => {
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  beforeAll(async () => {
    p = await startTestPlatform();
    await p.platform.deps.artifacts.put("datasets/chat/train.jsonl", Buffer.from(DATA));
    const { pipelines } = p.platform.services;
    await pipelines.register(
      definePipeline({
        name: "lora-local",
        params: z.object({}),
        steps: [
          {
            name: "finetune",
            kind: "builtin",
            uses: "llm-finetune",
            with: { ...finetuneWith, trainingData: "datasets/chat", localCommand: ["node", "-e", TRAINER] },
          },
          {
            name: "evaluate",
            kind: "lambda",
            dependsOn: ["finetune"],
            handler: () => ({ metrics: { rougeL: 0.41, exact_match: 0.2 } }),
          },
          {
            name: "register",
            kind: "builtin",
            uses: "llm-register-adapter",
            dependsOn: ["finetune", "evaluate"],
            with: { model: "chat-lora", from: "finetune", evalStep: "evaluate" },
          },
        ],
      }),
    );
    await pipelines.register(
      definePipeline({
        name: "lora-nowhere",
        params: z.object({}),
        steps: [{ name: "finetune", kind: "builtin", uses: "llm-finetune", with: finetuneWith }],
      }),
    );
  });
  afterAll(async () => {
    await p?.close();
  });

  async function run(name: string) {
    const { pipelines } = p.platform.services;
    const started = await pipelines.startRun(name, { noCache: true });
    await pipelines.waitForRun(started.runId);
    return pipelines.getRun(started.runId);
  }

  it("trains with SageMaker's environment and registers the adapter with its lineage", async () => {
    const r = await run("lora-local");
    expect(r.run.status, JSON.stringify(r)).toBe("SUCCEEDED");
    const reg = r.steps.find((s) => s.step === "register")?.output as Record<string, unknown>;
    expect(reg).toMatchObject({ model: "chat-lora", version: "1", baseModel: finetuneWith.baseModel });
    const sha = createHash("sha256").update(DATA).digest("hex");
    expect(reg.datasetDigests).toEqual({ "train.jsonl": sha });

    const v = await p.platform.services.registry.getModelVersion("chat-lora", "1");
    expect(v.source).toBe(`runs:/${reg.runId}/adapter`);
    expect(v.runId).toBe(reg.runId);
    const { run: tracked } = await p.platform.services.tracking.getRun(String(reg.runId));
    const params = Object.fromEntries((tracked.data.params ?? []).map((x) => [x.key, x.value]));
    expect(params).toMatchObject({
      base_model: finetuneWith.baseModel,
      lora_r: "16",
      learning_rate: "0.0002",
      "dataset.train.jsonl.sha256": sha,
    });
    const metrics = Object.fromEntries((tracked.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(metrics).toEqual({ rougeL: 0.41, exact_match: 0.2 });
    // The adapter's files are the version's bytes: written by the trainer, from SageMaker's env.
    const uri = await p.platform.services.registry.getDownloadUri("chat-lora", "1");
    const path = `${uri.replace(/^mlflow-artifacts:\/+/, "")}/adapter_config.json`;
    const config = JSON.parse((await p.platform.deps.artifacts.getBytes(path)).toString("utf8"));
    expect(config).toMatchObject({ base_model_name_or_path: finetuneWith.baseModel, r: 16, rows: 2 });
    expect(config.hps).toMatchObject({ lora_alpha: "32", epochs: "3" });
  });

  it("registers once per pipeline run and step, also when the step is retried", async () => {
    const { artifacts } = p.platform.deps;
    await artifacts.put("adapters/retry/adapter_model.safetensors", Buffer.from("w"));
    const kind = registerAdapterStepKind({
      tracking: p.platform.services.tracking,
      registrar: registryRegistrar(p.platform.services.registry),
    });
    const ctx = {
      runId: "pipeline-run-7",
      pipeline: "lora-retry",
      step: "register",
      params: {},
      inputs: {
        finetune: {
          artifactUri: artifacts.uri("adapters/retry"),
          baseModel: finetuneWith.baseModel,
          hyperparameters: { lora_r: "8" },
          trainingData: "datasets/chat",
        },
      },
      artifacts,
      artifactPrefix: "pipelines/lora-retry/pipeline-run-7/register",
      log: () => {},
    };
    const input = { model: "retry-lora", from: "finetune" };
    const first = await kind.run(input, ctx);
    const second = await kind.run(input, ctx);
    expect(second).toEqual(first);
    expect(first.version).toBe("1");
    const versions = await p.platform.services.registry.searchModelVersions({
      filter: "name = 'retry-lora'",
    });
    expect(versions.versions).toHaveLength(1);
    // Not an llm-finetune output: refused with the step's name.
    await expect(kind.run({ model: "retry-lora", from: "nothing" }, ctx)).rejects.toThrow(
      /"nothing" must be an llm-finetune step/,
    );
  });

  it("fails clearly without SageMaker or a local command", async () => {
    const r = await run("lora-nowhere");
    expect(r.run.status).toBe("FAILED");
    expect(JSON.stringify(r)).toContain("needs SageMaker");
    expect(JSON.stringify(r)).toContain("with.localCommand");
  });
});
