import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { EMF, EmfWriter } from "../../packages/llm/src/emf";
import { LLM_METRICS } from "../../stacks/env";
import { Llm } from "../../stacks/Llm";
import { Network } from "../../stacks/Network";
import { Storage } from "../../stacks/Storage";
import { parseStageSettings } from "../../stacks/settings";
import { expectRagRuntime } from "./rag-runtime";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

const out = synthOnce([Network, Storage, Llm], {
  stage: "infra-llm",
  config: {
    llm: {
      vllm: { instanceType: "g5.12xlarge", maxInstances: 3, model: "llama-3-8b", adapters: ["fraud-lora"] },
      bedrockModels: ["anthropic.claude-3-haiku-20240307-v1:0"],
      sagemakerEndpoints: ["Mistral-7B"],
    },
  },
});
const t = () => out.templates.Llm;
const gatewayFn = () =>
  resourcesOf(t(), "AWS::Lambda::Function").find((f) => f.Handler === "functions/llm.handler");
const statements = () =>
  Object.values(t().findResources("AWS::IAM::Policy")).flatMap((p) => p.Properties.PolicyDocument.Statement);

describe("Llm stack", () => {
  it("serves the gateway from a streaming function URL, in the VPC", () => {
    t().hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE", InvokeMode: "RESPONSE_STREAM" });
    const fn = gatewayFn();
    expect(fn.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(fn.Timeout).toBe(900);
    // Every KEEL_* variable is one loadConfig reads (config-vars.test.ts): the stage's routes.
    expect(Object.keys(fn.Environment.Variables).filter((k) => k.startsWith("KEEL_LLM_"))).toEqual([
      "KEEL_LLM_UPSTREAMS",
      "KEEL_LLM_EMF",
      "KEEL_LLM_ALERT_TOPIC_ARN",
    ]);
  });

  it("opens the stage's knowledge bases (rag:<kb>, semantic cache) with LanceDB for its architecture", () => {
    const fn = gatewayFn();
    expect(JSON.stringify(fn.Environment.Variables.KEEL_RAG_ROOT)).toMatch(/"s3:\/\/".*"\/rag\/"/);
    // RAG's model calls stay in process here (this is the gateway): no URL to itself.
    expect(fn.Environment.Variables.KEEL_RAG_LLM_URL).toBeUndefined();
    const onRag = statements().filter((s) => JSON.stringify(s.Resource).includes("/rag/*"));
    expect(onRag.flatMap((s) => [s.Action].flat())).toEqual(
      expect.arrayContaining(["s3:GetObject", "s3:PutObject"]),
    );
    expect(fn.Architectures).toEqual(["arm64"]);
    // No documents are ingested through /llm/v1: no pdf.js.
    expectRagRuntime(fn, out.bundles["functions/llm.handler"], { pdf: false });
  });

  it("exports the gateway's OpenAI-compatible URL for RAG in other stacks", () => {
    const outputs = t().toJSON().Outputs as Record<string, { Value: unknown; Export?: { Name: string } }>;
    expect(JSON.stringify(outputs.LlmGatewayUrl.Value)).toMatch(/FunctionUrl.*llm\/v1/);
  });

  it("scopes Bedrock and SageMaker access to the models and endpoints the stage names", () => {
    const bedrock = statements().find((s) => [s.Action].flat().includes("bedrock:InvokeModel"));
    expect([bedrock.Resource].flat()).toHaveLength(1);
    expect(JSON.stringify(bedrock.Resource)).toContain(
      "foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    );
    const sm = statements().find((s) =>
      [s.Action].flat().includes("sagemaker:InvokeEndpointWithResponseStream"),
    );
    expect(JSON.stringify(sm.Resource)).toContain("endpoint/mistral-7b");
    expect(JSON.stringify(statements())).not.toMatch(/bedrock:\*|foundation-model\/\*/);
  });

  it("runs vLLM on a GPU pool: weights and adapters from S3, tensor parallel from the instance type", () => {
    t().hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", { MinSize: "0", MaxSize: "3" });
    const lt = resourcesOf(t(), "AWS::EC2::LaunchTemplate")[0];
    const userData = JSON.stringify(lt.LaunchTemplateData.UserData);
    expect(userData).toContain("vllm/vllm-openai");
    expect(userData).toContain("--tensor-parallel-size 4");
    expect(userData).toContain("--lora-modules fraud-lora=/models/adapters/fraud-lora");
    expect(userData).toContain("--disable-log-requests");
    expect(userData).toContain("llm/models/llama-3-8b/");
    expect(lt.LaunchTemplateData.MetadataOptions.HttpTokens).toBe("required");
    // The pool's model and each adapter are gateway routes to the pool's OpenAI-compatible URL.
    const upstreams = JSON.stringify(gatewayFn().Environment.Variables.KEEL_LLM_UPSTREAMS);
    for (const model of ["llama-3-8b", "fraud-lora"])
      expect(upstreams).toContain(`\\"model\\":\\"${model}\\",\\"deployments\\":[{\\"id\\":\\"vllm\\"`);
  });

  it("scales the pool on GPU utilization and graphs tokens, cost, TTFT, errors and GPUs", () => {
    t().hasResourceProperties("AWS::AutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingConfiguration: Match.objectLike({
        TargetValue: 70,
        CustomizedMetricSpecification: Match.objectLike({ MetricName: "nvidia_smi_utilization_gpu" }),
      }),
    });
    const body = JSON.stringify(resourcesOf(t(), "AWS::CloudWatch::Dashboard")[0].DashboardBody);
    for (const m of [LLM_METRICS.tokensIn, LLM_METRICS.cost, LLM_METRICS.ttft, LLM_METRICS.upstreamErrors])
      expect(body).toContain(m);
    expect(body).toContain("nvidia_smi_memory_used");
  });

  it("graphs exactly the metrics the gateway's EMF lines carry (namespace, names, Stage dimension)", () => {
    const body = resourcesOf(t(), "AWS::CloudWatch::Dashboard")[0].DashboardBody;
    const text = (body["Fn::Join"]?.[1] ?? [body]).filter((x: unknown) => typeof x === "string").join("");
    const graphed = [...text.matchAll(/\["Keel\/Llm","([A-Za-z]+)","Stage","infra-llm"/g)].map((m) => m[1]);
    expect(new Set(graphed)).toEqual(new Set(Object.values(LLM_METRICS).filter((v) => v !== "Keel/Llm")));
    expect(LLM_METRICS).toEqual(EMF);
    // What the gateway writes: one line per call, same namespace, a Stage-only dimension set.
    const line = JSON.parse(
      new EmfWriter("infra-llm").line({
        model: "m",
        tokensIn: 3,
        tokensOut: 5,
        cost: 0.01,
        latencyMs: 900,
        ttftMs: 100,
        status: 200,
        fallbacks: 1,
        cacheHit: false,
      }),
    );
    const directive = line._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(LLM_METRICS.namespace);
    expect(directive.Dimensions).toContainEqual(["Stage"]);
    expect(line.Stage).toBe("infra-llm");
    const written = directive.Metrics.map((m: { Name: string }) => m.Name);
    for (const name of graphed) expect(written).toContain(name);
  });

  it("publishes budget alerts to an encrypted SNS topic the gateway may publish to, and purges stored prompts hourly", () => {
    t().hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    const topicArn = gatewayFn().Environment.Variables.KEEL_LLM_ALERT_TOPIC_ARN;
    expect(topicArn).toHaveProperty("Ref");
    const publish = statements().find((s) => [s.Action].flat().includes("sns:Publish"));
    expect(publish.Resource).toEqual(topicArn);
    t().hasResourceProperties("AWS::Scheduler::Schedule", { ScheduleExpression: "rate(1 hour)" });
    expect(resourcesOf(t(), "AWS::Lambda::Function").map((f) => f.Handler)).toContain(
      "functions/llm-purge.handler",
    );
  });

  it("refuses a pool on an instance type whose GPU count it cannot know", () => {
    expect(() =>
      parseStageSettings("x", { llm: { vllm: { instanceType: "x9.huge", model: "m" } } as never }),
    ).toThrow(/tensorParallelSize/);
  });

  itPassesSecurityChecks(out);
});
