import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { KeelError } from "@keel/core";
import { type PipelineDefinition, pipelinesIn } from "@keel/pipelines";
import { type TuningDefinition, tuningsIn } from "@keel/tuning";

/** What a quickstart is given: the running platform and where its files go. */
export interface QuickstartContext {
  url: string;
  dataDir: string;
  offlineRoot: string;
  /** Registers the pipelines a file of the project defines, in process; answers their names. */
  registerPipelines(file: string): Promise<string[]>;
  progress: {
    task<T>(
      title: string,
      fn: (update: (detail: string) => void) => Promise<T>,
      summarize?: (r: T) => string,
    ): Promise<T>;
    info(line: string): void;
  };
}

/** An optional walkthrough `keel dev` runs once per data dir (the fraud example's, by default). */
export interface ProjectQuickstart<S = unknown> {
  title: string;
  /** The summary of an earlier completed run in this data dir, if any. */
  completed(dataDir: string): S | undefined;
  run(ctx: QuickstartContext): Promise<S>;
  /** The lines printed after it ran. */
  report(summary: S, url: string): string[];
}

/** A Keel project: its pipelines (registered at start) and an optional quickstart. */
export interface KeelProject {
  dir: string;
  pipelines: PipelineDefinition[];
  /** Its tuning definitions (every `defineTuning` export, or `tunings`), loaded at start like pipelines. */
  tunings?: TuningDefinition[];
  quickstart?: ProjectQuickstart;
}

/** The files a project folder may have, in the order they are looked for. */
export const PROJECT_ENTRIES = [
  "keel.project.ts",
  "keel.project.mjs",
  "keel.project.js",
  "pipelines/index.ts",
  "pipelines/index.js",
];

/**
 * Loads a project folder (`keel dev --project <dir>`, KEEL_PROJECT_DIR): `keel.project.ts`
 * exporting `pipelines` and/or `quickstart` (named or as its default export), or a
 * `pipelines/index.ts` exporting pipeline definitions. TypeScript loads through the CLI's tsx
 * loader; in AWS the stacks bundle the project's pipelines instead.
 */
export async function loadProject(dir: string): Promise<KeelProject> {
  const root = resolve(dir);
  const entry = PROJECT_ENTRIES.map((f) => join(root, f)).find((f) => existsSync(f));
  if (!entry)
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `project folder ${root} has none of ${PROJECT_ENTRIES.join(", ")}`,
    );
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (e) {
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `cannot load project ${entry}: ${(e as Error).message}`,
      undefined,
      {
        cause: e,
      },
    );
  }
  const exported = (mod.default && typeof mod.default === "object" ? mod.default : mod) as Record<
    string,
    unknown
  >;
  const pipelines = Array.isArray(exported.pipelines)
    ? (exported.pipelines as PipelineDefinition[])
    : pipelinesIn(exported);
  const tunings = Array.isArray(exported.tunings)
    ? (exported.tunings as TuningDefinition[])
    : tuningsIn(exported);
  return { dir: root, pipelines, tunings, quickstart: exported.quickstart as ProjectQuickstart | undefined };
}
