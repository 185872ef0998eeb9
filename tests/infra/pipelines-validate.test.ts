import { awsBuiltinSteps } from "@keel/app";
import { compilePipeline, definePipeline } from "@keel/pipelines";
import { defineExpectations, VALIDATE_NOT_IN_LAMBDA } from "@keel/validation";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Features } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Pipelines, pipelineSources } from "../../stacks/Pipelines";
import { Storage } from "../../stacks/Storage";
import { synthStacks } from "./synth";

const suite = defineExpectations({ name: "transactions", expectations: [{ kind: "row_count", min: 1 }] });
const validated = (withConfig: unknown) =>
  definePipeline({
    name: "validated-training",
    params: z.object({ data: z.string() }),
    steps: [
      { name: "validate_data", kind: "builtin", uses: "validate", with: withConfig as never },
      { name: "train", kind: "lambda", dependsOn: ["validate_data"], handler: () => ({ ok: true }) },
    ],
  });

describe("the validate step in AWS", () => {
  it("is registered alike in the Pipelines stack and the step Lambda", () => {
    expect(pipelineSources.builtins.list().map((k) => k.name)).toEqual(
      awsBuiltinSteps()
        .list()
        .map((k) => k.name),
    );
    expect(pipelineSources.builtins.get("validate").name).toBe("validate");
  });

  it("still checks the step's config against validate's own schema", () => {
    expect(() =>
      compilePipeline(validated({ suite, nope: 1 }), { builtins: pipelineSources.builtins }),
    ).toThrow(/invalid config for built-in "validate"/);
  });

  it("refuses to compile for AWS, naming the pipeline, the step and why", () => {
    expect(() =>
      compilePipeline(validated({ suite, dataset: "{{params.data}}" }), {
        builtins: pipelineSources.builtins,
      }),
    ).toThrow(/pipeline "validated-training", step "validate_data": .*cannot run in AWS Lambda: .*DuckDB/);
  });

  it("stops `sst deploy` at synthesis, before anything is bundled or deployed", async () => {
    pipelineSources.pipelines = [validated({ suite, dataset: "{{params.data}}" })];
    await expect(
      synthStacks([Network, Storage, Features, Pipelines], { stage: "infra-pipelines-validate" }),
    ).rejects.toThrow(VALIDATE_NOT_IN_LAMBDA);
  });
});
