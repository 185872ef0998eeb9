/**
 * The deployed project's pipelines. Not a package: the stacks alias this name to the pipelines
 * entry named at deploy (stacks/project.ts), and esbuild bundles that module in its place.
 */
declare module "@keel-project/pipelines" {
  import type { PipelineDefinition } from "@keel/pipelines";
  export const pipelines: PipelineDefinition[];
}
