import { ENV } from "@keel/core";
import { definePipeline } from "@keel/pipelines";
import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Features } from "../../stacks/Features";
import { Llm } from "../../stacks/Llm";
import { Network } from "../../stacks/Network";
import { Pipelines, pipelineSources } from "../../stacks/Pipelines";
import { Storage } from "../../stacks/Storage";
import { expectRagRuntime } from "./rag-runtime";
import { expectNoNagErrors, resourcesOf, SYNTH_TIMEOUT_MS, type Synthesized, synthStacks } from "./synth";

/** A pipeline with a `rag.ingest` step: its step Lambda reads the S3 prefix and writes LanceDB on S3. */
const refresh = definePipeline({
  name: "refresh-handbook",
  params: z.object({}),
  steps: [
    {
      name: "ingest",
      kind: "builtin",
      uses: "rag.ingest",
      with: { kb: "handbook", artifactPrefix: "docs/handbook" },
    },
  ],
});

let out: Synthesized;
let t: Template;
beforeAll(async () => {
  pipelineSources.pipelines = [refresh];
  out = await synthStacks([Network, Storage, Features, Llm, Pipelines], {
    stage: "infra-pipelines-rag",
    config: { rag: { ingestKeySecretName: "keel/rag-ingest-key" } },
  });
  t = out.templates.Pipelines;
}, SYNTH_TIMEOUT_MS);

const json = (v: unknown) => JSON.stringify(v);
const stepFn = () =>
  resourcesOf(t, "AWS::Lambda::Function").find((f) => f.Handler === "functions/pipeline-step.handler");

describe("rag.ingest in the Pipelines stack", () => {
  it("compiles the step into a Task of the pipeline's step Lambda", () => {
    const [machine] = resourcesOf(t, "AWS::StepFunctions::StateMachine");
    expect(machine.StateMachineName).toBe("keel-infra-pipelines-rag-refresh-handbook");
    expect(machine.DefinitionString).toContain('"ingest"');
  });

  it("points the step Lambda's LanceDB at the stage bucket's rag/ prefix, with read/write there", () => {
    const fn = resourcesOf(t, "AWS::Lambda::Function").find(
      (f) => f.Handler === "functions/pipeline-step.handler",
    );
    const root = fn.Environment.Variables[ENV.RAG_ROOT];
    expect(json(root)).toMatch(/"s3:\/\/"/);
    expect(json(root)).toContain("/rag/");
    const statements = resourcesOf(t, "AWS::IAM::Policy")
      .filter((p) => json(p.Roles).includes("RefreshHandbookStepFn"))
      .flatMap((p) => p.PolicyDocument.Statement);
    const onRag = statements.filter((s) => json(s.Resource).includes("/rag/*"));
    expect(onRag.flatMap((s) => [s.Action].flat())).toEqual(
      expect.arrayContaining(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]),
    );
    const list = statements.find((s) => s.Action === "s3:ListBucket" && json(s.Condition).includes("rag/*"));
    expect(list).toBeDefined();
  });

  it("ships LanceDB's native binding for the step Lambda's architecture, and pdf.js", () => {
    expect(stepFn().Architectures).toEqual(["arm64"]);
    expectRagRuntime(stepFn(), out.bundles["functions/pipeline-step.handler"], { pdf: true });
  });

  it("embeds with the gateway key in the stage's secret: named in KEEL_RAG_LLM_API_KEY_SECRET, readable by this step only", () => {
    expect(stepFn().Environment.Variables[ENV.RAG_LLM_API_KEY_SECRET]).toBe("keel/rag-ingest-key");
    expect(stepFn().Environment.Variables[ENV.RAG_LLM_API_KEY]).toBeUndefined();
    const reads = resourcesOf(t, "AWS::IAM::Policy")
      .flatMap((p) => p.PolicyDocument.Statement.map((s: unknown) => ({ roles: json(p.Roles), s })))
      .filter(
        ({ s }) =>
          json(s).includes("secretsmanager:GetSecretValue") && json(s).includes("keel/rag-ingest-key"),
      );
    expect(reads.length).toBeGreaterThan(0);
    for (const { roles } of reads) expect(roles).toContain("RefreshHandbookStepFn");
    // The name's ARN with the random suffix Secrets Manager adds, not a wildcard over every secret.
    expect(json(reads[0].s)).toMatch(/secret:keel\/rag-ingest-key-\?\?\?\?\?\?/);
  });

  it("embeds through the stage's LLM gateway: KEEL_RAG_LLM_URL is the Llm stack's function URL", () => {
    const url = json(stepFn().Environment.Variables[ENV.RAG_LLM_URL]);
    expect(url).toContain("Fn::ImportValue");
    expect(url).toContain("llm/v1");
    // The import is the Llm stack's export of its gateway's function URL.
    const exportName = url.match(/"Fn::ImportValue":"([^"]+)"/)?.[1];
    const outputs = Object.values(
      out.templates.Llm.toJSON().Outputs as Record<string, { Export?: { Name: string }; Value: unknown }>,
    );
    const exported = outputs.find((o) => o.Export?.Name === exportName);
    expect(json(exported?.Value)).toMatch(/"Fn::GetAtt":\["LlmGatewayFn\w*FunctionUrl\w*","FunctionUrl"\]/);
  });

  it("passes cdk-nag", () => {
    expectNoNagErrors(out);
  });
});
