import type { KeelProject, ProjectQuickstart } from "@keel/app";
import {
  completedQuickstart,
  type QuickstartSummary,
  quickstartReport,
  runQuickstart,
} from "./src/quickstart";

/**
 * The fraud-detection example as a Keel project: `keel dev` loads it by default (`--project`
 * names another folder). Its pipeline is registered by the quickstart itself, from
 * `pipeline.ts`, so the run history shows where it came from.
 */
export const quickstart: ProjectQuickstart<QuickstartSummary> = {
  title: "the fraud-detection quickstart",
  completed: completedQuickstart,
  run: (ctx) => runQuickstart(ctx),
  report: quickstartReport,
};

export const pipelines: KeelProject["pipelines"] = [];

// `keel dev` loads the project's tunings at start: `keel tune run fraud-gbdt` runs it on the server.
export { fraudTuning } from "./tuning";
