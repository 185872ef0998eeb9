import { RemovalPolicy } from "aws-cdk-lib";
import type { App } from "sst/constructs";
import { parseStageSettings, type StageSettingsInput, setStageSettings, type StageSettings } from "./settings";

/**
 * The one place an app is prepared before stacks are added: `sst.config.ts` and the offline
 * synthesis helper both call it, so tests synthesize exactly what `sst deploy` deploys.
 */
export function configureApp(app: App, input: StageSettingsInput = {}): StageSettings {
  const settings = parseStageSettings(app.stage, input);
  setStageSettings(app, settings);
  app.setDefaultFunctionProps({
    runtime: "nodejs22.x",
    architecture: "arm_64",
    memorySize: 1024,
    timeout: 30,
    tracing: "active",
    nodejs: {
      format: "esm",
      // Native modules used only by local adapters: each is ~100-300 MB and never loaded in
      // Lambda (the local stand-ins for serving and the offline store are not chosen there).
      esbuild: { external: ["onnxruntime-node", "@duckdb/node-api", "@duckdb/node-bindings", "dynalite"] },
    },
  });
  return settings;
}

/** Removal policy for resources CDK creates directly (SST applies the app default to its own). */
export function removalPolicy(settings: StageSettings): RemovalPolicy {
  return settings.removal === "retain" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}
