import { awsBuiltinSteps } from "@keel/app";
import { compilePipeline, definePipeline } from "@keel/pipelines";
import { defineExpectations } from "@keel/validation";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Features } from "../../stacks/Features";
import { Network } from "../../stacks/Network";
import { Pipelines, pipelineSources } from "../../stacks/Pipelines";
import { Storage } from "../../stacks/Storage";
import { expectNoNagErrors, resourcesOf, SYNTH_TIMEOUT_MS, type Synthesized, synthStacks } from "./synth";

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
const plain = definePipeline({
  name: "plain",
  params: z.object({}),
  steps: [{ name: "only", kind: "lambda", handler: () => ({ ok: true }) }],
});

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
/** The statements of the policies attached to one function's role (by the function's logical id prefix). */
function statementsOf(out: Synthesized, fnIdPrefix: string): Statement[] {
  const t = out.templates.Pipelines;
  const roles = Object.keys(t.findResources("AWS::IAM::Role")).filter((id) => id.startsWith(fnIdPrefix));
  return resourcesOf(t, "AWS::IAM::Policy")
    .filter((p) => (p.Roles as Array<{ Ref: string }>).some((r) => roles.includes(r.Ref)))
    .flatMap((p) => p.PolicyDocument.Statement as Statement[]);
}
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe("the validate step in AWS", () => {
  let out: Synthesized;
  beforeAll(async () => {
    pipelineSources.pipelines = [validated({ suite, dataset: "{{params.data}}" }), plain];
    out = await synthStacks([Network, Storage, Features, Pipelines], { stage: "infra-pipelines-validate" });
  }, SYNTH_TIMEOUT_MS);

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

  it("compiles to a step Lambda task (no deploy-time refusal)", () => {
    const compiled = compilePipeline(validated({ suite, dataset: "{{params.data}}" }), {
      builtins: pipelineSources.builtins,
    });
    expect(JSON.stringify(compiled.definition)).toContain("validate_data");
  });

  it("gives the validating pipeline's step Lambda the Glue database and Athena workgroup", () => {
    const fns = resourcesOf(out.templates.Pipelines, "AWS::Lambda::Function");
    const vars = (f: { Environment?: { Variables?: Record<string, unknown> } }) =>
      f.Environment?.Variables ?? {};
    const withGlue = fns.filter((f) => "KEEL_GLUE_DATABASE" in vars(f));
    expect(withGlue).toHaveLength(1);
    expect(vars(withGlue[0]).KEEL_GLUE_DATABASE).toBe("keel_infra_pipelines_validate");
    expect(vars(withGlue[0]).KEEL_ATHENA_WORKGROUP).toBe("keel-infra-pipelines-validate");
    expect(JSON.stringify(vars(withGlue[0]).KEEL_OFFLINE_ROOT)).toContain("offline/");
  });

  it("grants Athena and Glue least privilege: create/drop only its temporary tables", () => {
    const st = statementsOf(out, "ValidatedTrainingStepFn");
    const athena = st.find((s) => actions(s).includes("athena:StartQueryExecution"))!;
    expect(JSON.stringify(athena.Resource)).toMatch(/workgroup\//);
    const writes = st.filter((s) =>
      actions(s).some((a) => a === "glue:CreateTable" || a === "glue:DeleteTable"),
    );
    expect(writes).toHaveLength(1);
    const writeResources = JSON.stringify(writes[0].Resource);
    expect(writeResources).toContain("table/keel_infra_pipelines_validate/keel_validate_*");
    expect(writeResources).not.toMatch(/table\/keel_infra_pipelines_validate\/\*"/);
    for (const s of st.filter((x) => actions(x).some((a) => /^(athena|glue|s3):/.test(a))))
      expect(s.Resource).not.toBe("*");
    expect(st.flatMap(actions)).not.toContain("glue:DeleteDatabase");
  });

  it("gives a pipeline without a validate step none of it", () => {
    const st = statementsOf(out, "PlainStepFn");
    expect(st.length).toBeGreaterThan(0);
    expect(st.flatMap(actions).filter((a) => /^(athena|glue):/.test(a))).toEqual([]);
  });

  it("is cdk-nag clean", () => {
    expectNoNagErrors(out);
  });
});
