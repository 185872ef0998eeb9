import { type BuiltinStepKind, StepFailure } from "@keel/pipelines";
import {
  type ValidateStepInput,
  type ValidationRunnerDeps,
  validateStepInputSchema,
  validateStepKind,
} from "./validate-step";

/**
 * The `validate` kind as the deployed platform registers it: the same name, input schema and
 * behaviour as locally, run by the pipeline-step Lambda with the Athena engine
 * (athena-engine.ts). `deps` is called on the first run, so the Pipelines stack, which only
 * compiles pipelines against the kind, needs no AWS configuration; without it a run fails
 * naming what is missing.
 */
export function lambdaValidateStepKind(
  deps?: () => ValidationRunnerDeps,
): BuiltinStepKind<ValidateStepInput> {
  let kind: BuiltinStepKind<ValidateStepInput> | undefined;
  return {
    name: "validate",
    description: "Validate a Parquet dataset in S3 against an expectation suite (Athena); fails on errors",
    input: validateStepInputSchema,
    async run(input, ctx) {
      if (!deps)
        throw new StepFailure(
          "Keel.ValidationError",
          `pipeline "${ctx.pipeline}", step "${ctx.step}": no Athena validation engine is wired in this function`,
        );
      kind ??= validateStepKind(deps());
      return kind.run(input, ctx);
    },
  };
}
