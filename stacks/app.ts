import { Aspects, type IAspect, RemovalPolicy } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { type App, Stack } from "sst/constructs";
import { suppress } from "./nag";
import { PROJECT_PIPELINES_MODULE, projectPipelinesEntry } from "./project";
import {
  parseStageSettings,
  type StageSettings,
  type StageSettingsInput,
  setStageSettings,
} from "./settings";

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
      // Native modules used only by local adapters: each is ~100-300 MB and is never loaded in
      // Lambda (the local stand-ins for serving and the offline store are not chosen there).
      esbuild: {
        external: ["onnxruntime-node", "@duckdb/node-api", "@duckdb/node-bindings", "dynalite"],
        // The project's pipelines, named at deploy, in place of `@keel-project/pipelines`.
        alias: { [PROJECT_PIPELINES_MODULE]: projectPipelinesEntry() },
      },
    },
  });
  Aspects.of(app).add(new SstHandlerSuppressions());
  return settings;
}

/** Removal policy for data resources: kept with the stage's data in "retain" stages. */
export function removalPolicy(settings: StageSettings): RemovalPolicy {
  return settings.removal === "retain" ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}

/** SST adds one custom-resource Lambda to every stack; its role and runtime are SST's choice. */
class SstHandlerSuppressions implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof Stack)) return;
    suppress(node.customResourceHandler, [
      [
        "AwsSolutions-IAM4",
        "SST's deployment helper (stack metadata, secrets) only writes its own logs through AWSLambdaBasicExecutionRole.",
        ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
      ],
      [
        "AwsSolutions-L1",
        "The runtime of SST's deployment helper is fixed by SST 2.49.8 (nodejs22.x), not by Keel.",
      ],
    ]);
  }
}
