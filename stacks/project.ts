import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { PipelineDefinition } from "@keel/pipelines";
import { type TuningDefinition, tuningsIn } from "@keel/tuning";

/**
 * The project a deploy ships: its pipelines entry (a module exporting `pipelines`), named at
 * deploy with KEEL_PROJECT_PIPELINES (path from the repository root; default: the sample
 * project in examples/pipelines). The Pipelines stack compiles these definitions into state
 * machines, and esbuild bundles the same module into the API and pipeline-step functions as
 * `@keel-project/pipelines` (see configureApp), so functions/ never imports a project.
 */
export const PROJECT_PIPELINES_ENV = "KEEL_PROJECT_PIPELINES";
export const PROJECT_PIPELINES_MODULE = "@keel-project/pipelines";

export function projectPipelinesEntry(): string {
  return resolve(process.env[PROJECT_PIPELINES_ENV] ?? "examples/pipelines/index.ts");
}

/** Loads the project's pipeline definitions at synthesis (TypeScript through tsx outside vitest). */
async function loadProjectModule(entry: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(entry).href;
  return process.env.VITEST
    ? await import(/* @vite-ignore */ url)
    : await (await import("tsx/esm/api")).tsImport(url, import.meta.url);
}

export async function loadProjectPipelines(entry = projectPipelinesEntry()): Promise<PipelineDefinition[]> {
  const mod = (await loadProjectModule(entry)) as { pipelines?: PipelineDefinition[] };
  if (!Array.isArray(mod.pipelines)) throw new Error(`${entry} does not export \`pipelines\` (an array)`);
  return mod.pipelines;
}

/** The project's tuning definitions: every export of its entry that is one (`defineTuning`). */
export async function loadProjectTunings(entry = projectPipelinesEntry()): Promise<TuningDefinition[]> {
  return tuningsIn(await loadProjectModule(entry));
}
