import type { ArtifactStore } from "@keel/artifacts";
import { KeelError } from "@keel/core";
import type { BaselineProfile } from "@keel/model-format";
import {
  type BuiltinStepKind,
  type Json,
  type PipelineTracking,
  type StepContext,
  StepFailure,
} from "@keel/pipelines";
import { z } from "zod";
import type { ValidationEngine } from "./engine";
import { evaluateSuite, failureSummary, type ValidationReport } from "./evaluate";
import { type ExpectationSuite, type ModelReference, suiteSchema } from "./expectations";
import { type RecordedValidation, recordValidation, type ValidateStepOutput } from "./record";

/** The reference profile of a registered model version (its training run's profile). */
export type ReferenceProfiles = (ref: ModelReference) => Promise<BaselineProfile | undefined>;

export const validateStepInputSchema = z.strictObject({
  /** The suite (`defineExpectations(...)`). */
  suite: suiteSchema,
  /**
   * The dataset: a path or s3:// URI, or a template reading the run's params or an earlier
   * step's output: "{{params.transactions}}", "{{steps.training_set.trainingSetUri}}".
   * Default: the suite's own dataset.
   */
  dataset: z.string().min(1).optional(),
  /** Overrides the suite's reference model version for distribution checks. */
  reference: z
    .strictObject({ model: z.string().min(1), version: z.union([z.string(), z.number()]) })
    .optional(),
});
export type ValidateStepInput = z.output<typeof validateStepInputSchema>;

const TEMPLATE = /\{\{\s*(params|steps)\.([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+)*)\s*\}\}/g;

/** Fills "{{params.x}}" and "{{steps.<step>.<field>...}}" from a step's context. */
export function resolveDataset(template: string, ctx: Pick<StepContext, "params" | "inputs">): string {
  return template.replace(TEMPLATE, (whole, scope: string, head: string, rest: string) => {
    let v: unknown = scope === "params" ? (ctx.params as Record<string, unknown>)[head] : ctx.inputs[head];
    for (const k of rest.split(".").filter(Boolean)) v = (v as Record<string, Json> | undefined)?.[k];
    if (typeof v !== "string" && typeof v !== "number")
      throw new StepFailure(
        "Keel.ValidationInput",
        `${whole} is not set${scope === "steps" ? ` (is "${head}" in dependsOn?)` : ""}`,
      );
    return String(v);
  });
}

export interface ValidationRunnerDeps {
  engine: ValidationEngine;
  tracking?: PipelineTracking;
  references?: ReferenceProfiles;
}

/** Evaluates a suite with its reference profile resolved; records it; returns both. */
export async function runValidation(
  deps: ValidationRunnerDeps & { artifacts: ArtifactStore },
  suite: ExpectationSuite,
  dataset: string,
  opts: { reference?: ModelReference; tags?: Record<string, string>; now?: number } = {},
): Promise<{ report: ValidationReport; recorded: RecordedValidation }> {
  const ref = opts.reference ?? suite.reference;
  let reference: { profile: BaselineProfile; label: string } | undefined;
  if (ref && suite.expectations.some((e) => e.kind === "distribution")) {
    if (!deps.references)
      throw new KeelError(
        "INVALID_PARAMETER_VALUE",
        `distribution checks against model ${ref.model} version ${ref.version} need its training profile, which this platform cannot read here`,
      );
    const profile = await deps.references(ref);
    if (!profile)
      throw new KeelError(
        "RESOURCE_DOES_NOT_EXIST",
        `model ${ref.model} version ${ref.version} has no training profile to compare with`,
      );
    reference = { profile, label: `${ref.model} v${ref.version} training profile` };
  }
  const report = await evaluateSuite(deps.engine, suite, dataset, { now: opts.now, reference });
  const recorded = await recordValidation(
    { artifacts: deps.artifacts, tracking: deps.tracking },
    report,
    opts.tags,
  );
  return { report, recorded };
}

/**
 * The built-in step kind `validate`: runs a suite over a Parquet dataset, records the results
 * as a tracking run (metrics, JSON and HTML report) and fails the step, and so the pipeline,
 * when an expectation of severity error fails, naming each failed expectation.
 *
 *   { name: "validate_data", kind: "builtin", uses: "validate",
 *     with: { suite: transactionsSuite, dataset: "{{params.transactions}}" } }
 */
export function validateStepKind(deps: ValidationRunnerDeps): BuiltinStepKind<ValidateStepInput> {
  return {
    name: "validate",
    description: "Validate a Parquet dataset against an expectation suite; fails on errors",
    input: validateStepInputSchema,
    async run(input, ctx) {
      const template = input.dataset ?? input.suite.dataset;
      if (!template)
        throw new StepFailure(
          "Keel.ValidationInput",
          `suite ${input.suite.name} names no dataset: give with.dataset`,
        );
      const dataset = resolveDataset(template, ctx);
      ctx.log(`validating ${dataset} against suite ${input.suite.name}`);
      const { report, recorded } = await runValidation(
        { ...deps, artifacts: ctx.artifacts },
        input.suite,
        dataset,
        {
          reference: input.reference,
          tags: {
            "keel.pipeline.runId": ctx.runId,
            "keel.pipeline": ctx.pipeline,
            "keel.pipeline.step": ctx.step,
          },
        },
      ).catch((e: Error) => {
        if (e instanceof StepFailure) throw e;
        throw new StepFailure("Keel.ValidationError", e.message);
      });
      const summary = failureSummary(report);
      for (const line of summary.split("\n")) ctx.log(line);
      if (!report.passed)
        throw new StepFailure("Keel.ValidationFailed", `${summary}\nreport: ${recorded.htmlUri}`);
      const out: ValidateStepOutput = {
        suite: report.suite,
        dataset,
        passed: report.passed,
        errors: report.errors,
        warnings: report.warnings,
        rows: report.rows,
        reportUri: recorded.reportUri,
        htmlUri: recorded.htmlUri,
        summary: summary.split("\n")[0],
        ...(recorded.trackingRunId ? { trackingRunId: recorded.trackingRunId } : {}),
      };
      return out;
    },
  };
}
