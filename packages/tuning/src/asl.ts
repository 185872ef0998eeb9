import type { AslDefinition } from "@keel/pipelines";
import validator from "asl-validator";
import type { TuningSpec } from "./definition";
import { badTuning } from "./errors";

/** ARNs the tuning state machine calls; the stack passes real ones, tests stand-ins. */
export interface TuningAslBindings {
  /** The controller Lambda (functions running `createTuningControllerHandler`). */
  controllerFunctionArn: string;
  /** For trainStep/function trials: the Lambda that runs one trial. */
  trialFunctionArn?: string;
  /** For pipeline trials: the pipeline's state machine. */
  pipelineStateMachineArn?: string;
  /** Seconds one trial may run (default 3600). */
  trialTimeoutSeconds?: number;
}

/** State names (the local runner's task overrides are keyed by them). */
export const TUNING_STATE = {
  suggest: "Suggest",
  done: "Done",
  trials: "RunTrials",
  trial: "RunTrial",
  trialFailed: "TrialFailed",
  record: "Record",
  finish: "Finish",
} as const;

const LAMBDA_RETRY = [
  {
    ErrorEquals: [
      "Lambda.ServiceException",
      "Lambda.AWSLambdaException",
      "Lambda.SdkClientException",
      "Lambda.TooManyRequestsException",
    ],
    IntervalSeconds: 1,
    MaxAttempts: 3,
    BackoffRate: 2,
  },
];

/**
 * A tuning experiment as a Step Functions state machine (JSONPath ASL):
 *
 *   Suggest (controller Lambda: the next batch, recorded in the MetadataStore)
 *   -> Done? -> RunTrials (Map over the batch, MaxConcurrency = parallelTrials; a failed trial is
 *   caught and passed on as a result) -> Record (controller Lambda: statuses, retries) -> Suggest
 *   ... -> Finish (controller Lambda: best trial, summary, registration).
 *
 * The controller keeps no state between calls: everything is in the MetadataStore, so a
 * redriven or restarted execution continues from the recorded trials.
 */
export function compileTuning(spec: TuningSpec, b: TuningAslBindings): AslDefinition {
  const controller = (action: string, extra: Record<string, unknown> = {}) => ({
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: {
      FunctionName: b.controllerFunctionArn,
      Payload: { action, tuning: spec.name, "execution.$": "$$.Execution.Name", ...extra },
    },
    TimeoutSeconds: 120,
    Retry: LAMBDA_RETRY,
  });
  const timeout = b.trialTimeoutSeconds ?? 3600;
  const trial =
    spec.trial.kind === "pipeline"
      ? {
          Type: "Task",
          Resource: "arn:aws:states:::states:startExecution.sync:2",
          Parameters: {
            StateMachineArn:
              b.pipelineStateMachineArn ?? "arn:aws:states:us-east-1:000000000000:stateMachine:unset",
            "Name.$": "States.Format('tune-{}-{}-{}', $$.Execution.Name, $.number, $.attempt)",
            Input: { "params.$": "$.params" },
          },
          ResultSelector: { "output.$": "$.Output" },
          ResultPath: "$.run",
          TimeoutSeconds: timeout,
        }
      : {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Parameters: {
            FunctionName: b.trialFunctionArn ?? "arn:aws:lambda:us-east-1:000000000000:function:unset",
            Payload: { action: "trial", tuning: spec.name, "trial.$": "$" },
          },
          ResultSelector: { "metrics.$": "$.Payload.metrics" },
          ResultPath: "$.run",
          TimeoutSeconds: timeout,
          Retry: LAMBDA_RETRY,
        };
  const definition = {
    Comment: `Keel tuning "${spec.name}": ${spec.algorithm.name}, ${spec.maxTrials} trials, ${spec.parallelTrials} at a time`,
    StartAt: TUNING_STATE.suggest,
    States: {
      [TUNING_STATE.suggest]: {
        ...controller("suggest"),
        ResultSelector: { "done.$": "$.Payload.done", "trials.$": "$.Payload.trials" },
        ResultPath: "$.batch",
        Next: TUNING_STATE.done,
      },
      [TUNING_STATE.done]: {
        Type: "Choice",
        Choices: [{ Variable: "$.batch.done", BooleanEquals: true, Next: TUNING_STATE.finish }],
        Default: TUNING_STATE.trials,
      },
      [TUNING_STATE.trials]: {
        Type: "Map",
        ItemsPath: "$.batch.trials",
        MaxConcurrency: spec.parallelTrials,
        ItemProcessor: {
          ProcessorConfig: { Mode: "INLINE" },
          StartAt: TUNING_STATE.trial,
          States: {
            [TUNING_STATE.trial]: {
              ...trial,
              Catch: [
                { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: TUNING_STATE.trialFailed },
              ],
              End: true,
            },
            [TUNING_STATE.trialFailed]: { Type: "Pass", End: true },
          },
        },
        ResultPath: "$.results",
        Next: TUNING_STATE.record,
      },
      [TUNING_STATE.record]: {
        ...controller("record", { "results.$": "$.results" }),
        ResultPath: null,
        Next: TUNING_STATE.suggest,
      },
      [TUNING_STATE.finish]: {
        ...controller("finish"),
        ResultSelector: { "status.$": "$.Payload.status", "best.$": "$.Payload.best" },
        End: true,
      },
    },
  } as unknown as AslDefinition;
  const check = validator(definition, { checkPaths: true, checkArn: true });
  if (!check.isValid)
    throw badTuning(`tuning "${spec.name}" compiled to invalid ASL: ${check.errorsText("; ")}`);
  return definition;
}
