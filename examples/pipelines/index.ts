import type { PipelineDefinition } from "@keel/pipelines";
import { training } from "./training";

/**
 * The pipelines this project registers: `stacks/Pipelines.ts` deploys each as a state machine
 * and `functions/pipeline-step.ts` runs their steps in AWS.
 */
export const pipelines: PipelineDefinition[] = [training];
