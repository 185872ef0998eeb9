import { KeelError } from "@keel/core";
import { type BuiltinStepKind, StepFailure } from "@keel/pipelines";
import { type ValidateStepInput, validateStepInputSchema } from "./validate-step";

/**
 * Why `validate` has no AWS form: its engine is DuckDB, a native module that Lambda bundles do
 * not carry (it stays external), and DuckDB's httpfs extension (s3:// reads) is not available.
 */
export const VALIDATE_NOT_IN_LAMBDA =
  "the built-in step `validate` cannot run in AWS Lambda: its DuckDB engine is a native module the " +
  "Lambda bundles do not carry, and DuckDB cannot read s3:// there; run the pipeline on the local " +
  "platform (keel dev), or validate inside a container step";

/**
 * The `validate` kind as the deployed platform registers it (the Pipelines stack and the step
 * Lambda): same name and input schema as `validateStepKind`, so a pipeline's config is still
 * checked, but compiling it for AWS fails with VALIDATE_NOT_IN_LAMBDA naming the step: `sst
 * deploy` stops at synthesis instead of a run crashing in Lambda.
 */
export function lambdaValidateStepKind(): BuiltinStepKind<ValidateStepInput> {
  const refuse = (pipeline: string, step: string) =>
    `pipeline "${pipeline}", step "${step}": ${VALIDATE_NOT_IN_LAMBDA}`;
  return {
    name: "validate",
    description: "Validate a Parquet dataset against an expectation suite (not available in AWS Lambda)",
    input: validateStepInputSchema,
    asl(_input, ctx) {
      throw new KeelError("INVALID_PARAMETER_VALUE", refuse(ctx.pipeline, ctx.step));
    },
    async run(_input, ctx) {
      throw new StepFailure("Keel.Unsupported", refuse(ctx.pipeline, ctx.step));
    },
  };
}
