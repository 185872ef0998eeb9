import { join } from "node:path";
import { ONNX_INPUT } from "@keel/model-format";
import { definePipeline, type StepContext, StepFailure } from "@keel/pipelines";
import { FEATURE_VIEWS_TAG, PIPELINE_RUN_TAG } from "@keel/registry";
import { trainHandler } from "@keel/train";
import { validationTags } from "@keel/validation";
import { z } from "zod";
import { fraudFeatureRepo, fraudV1, USER_STATS_URI, userTransactionStats } from "./features/definitions";
import { computeUserFeatures, USER_FEATURES } from "./src/compute-features";
import { trainingSetExpectations } from "./src/expectations";
import { KeelApi } from "./src/keel-api";

/**
 * The fraud model's training pipeline, from raw transactions to a model serving all traffic:
 *
 *   compute_features -> materialize (online store)
 *                    -> training_set (point-in-time join) -> validate_training_set -> train
 *   -> evaluate -> quality gate
 *   -> register -> request_promotion (Production) -> deploy_canary (10%) -> promote (100%)
 *
 * Steps talk to the platform over HTTP (`keelUrl`), so they run alike in `keel dev` and in a
 * step Lambda. The first run of a fresh platform has no deployment to canary against: it
 * creates the deployment with its version at 100%; later runs deploy their version as a canary
 * next to the serving one and then promote it.
 *
 *   keel pipeline run examples/fraud-detection/pipeline.ts --param keelUrl=http://localhost:5000 \
 *     --param workDir=.keel/examples/fraud-detection --param offlineRoot=.keel/offline \
 *     --param transactions=.keel/examples/fraud-detection/transactions.parquet
 */
export const paramsSchema = z.object({
  /** The Keel platform the steps call. */
  keelUrl: z.url(),
  /** Raw transactions (Parquet) with user_id, event_timestamp and the label is_fraud. */
  transactions: z.string().min(1),
  /** Where training sets are written. */
  workDir: z.string().min(1),
  /** The directory standing in for s3:// locally (the platform's KEEL_OFFLINE_ROOT). */
  offlineRoot: z.string().min(1),
  algorithm: z.enum(["gbdt", "logistic"]).default("gbdt"),
  /** The quality gate: the validation AUC a model needs to be registered. */
  minAuc: z.coerce.number().min(0).max(1).default(0.8),
  model: z.string().min(1).default("fraud"),
  deployment: z.string().min(1).default("fraud"),
  canaryWeight: z.coerce.number().min(1).max(100).default(10),
  seed: z.coerce.number().int().default(7),
});
export type FraudPipelineParams = z.infer<typeof paramsSchema>;

export const EXPERIMENT = "fraud-detection";
const PROMOTION_STAGE = "Production";

const params = (ctx: StepContext): FraudPipelineParams => ctx.params as FraudPipelineParams;
const api = (ctx: StepContext) => new KeelApi(params(ctx).keelUrl);
/** A dependency's output, typed by the step that reads it. */
const input = <T>(ctx: StepContext, step: string): T => ctx.inputs[step] as unknown as T;

/** The local file behind an s3:// URI, as the local offline store maps it. */
export const offlinePath = (offlineRoot: string, uri: string) => join(offlineRoot, uri.slice("s3://".length));

/** The file the history of transactions is written to, inside the feature view's source prefix. */
export const HISTORY_FILE = "history.parquet";

interface ComputeOut {
  rows: number;
  featureVersion: number;
}
interface TrainOut {
  modelUri: string;
  runId: string;
  experimentId: string;
  metrics: Record<string, number>;
}
interface RegisterOut {
  model: string;
  version: string;
}
interface Promotion {
  id: string;
  version: string;
  target: { stage?: string; alias?: string };
  status: string;
  auto_approved: boolean;
  reviewer?: string;
}
interface DeployOut {
  deployment: string;
  mode: "created" | "canary" | "unchanged";
  version: string;
}

async function experimentId(keel: KeelApi): Promise<string> {
  const found = await keel.find<{ experiment: { experiment_id: string } }>(
    "GET",
    `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${EXPERIMENT}`,
  );
  if (found) return found.experiment.experiment_id;
  const created = await keel.call<{ experiment_id: string }>("POST", "/api/2.0/mlflow/experiments/create", {
    name: EXPERIMENT,
  });
  return created.experiment_id;
}

export const fraudPipeline = definePipeline({
  name: "fraud-detection",
  description: "Features, training, approval and a canary rollout of the fraud model",
  version: "1",
  params: paramsSchema,
  steps: [
    {
      name: "compute_features",
      kind: "lambda",
      description: "trailing-window user features from raw transactions, registered as feature views",
      handler: async (ctx) => {
        const p = params(ctx);
        const out = join(offlinePath(p.offlineRoot, USER_STATS_URI), HISTORY_FILE);
        const rows = await computeUserFeatures(p.transactions, out);
        ctx.log(`wrote ${rows} feature rows to ${out}`);
        const applied = await api(ctx).call<{ version: number; changed: boolean }>(
          "POST",
          "/api/v1/features/apply",
          { definitions: fraudFeatureRepo() },
        );
        return { rows, featureVersion: applied.version };
      },
    },
    {
      name: "materialize",
      kind: "lambda",
      dependsOn: ["compute_features"],
      cache: false,
      description: "latest feature values per user into the online store, since the last materialization",
      handler: async (ctx) => {
        // Incremental, as a scheduled pipeline would: the first run loads everything, later runs
        // only events newer than the view's watermark.
        const res = await api(ctx).call<{
          views: Array<{ written: number; skipped: number; rowsRead: number }>;
        }>("POST", "/api/v1/features/materialize", { views: [userTransactionStats.name], incremental: true });
        const v = res.views[0];
        return { written: v?.written ?? 0, skipped: v?.skipped ?? 0, rowsRead: v?.rowsRead ?? 0 };
      },
    },
    {
      name: "training_set",
      kind: "lambda",
      dependsOn: ["compute_features"],
      description: "point-in-time correct features for every labelled transaction",
      handler: async (ctx) => {
        const p = params(ctx);
        // The server writes it under its outputs root and says where.
        const res = await api(ctx).call<{ row_count: number; uri: string }>(
          "POST",
          "/api/v1/features/historical",
          {
            entities_path: p.transactions,
            feature_service: fraudV1.name,
            out_path: `training-sets/${ctx.runId}.parquet`,
          },
        );
        return { trainingSetUri: res.uri, rows: res.row_count };
      },
    },
    {
      name: "validate_training_set",
      kind: "builtin",
      uses: "validate",
      dependsOn: ["training_set"],
      description: "the training set against its expectation suite; errors stop the run",
      with: { suite: trainingSetExpectations, dataset: "{{steps.training_set.trainingSetUri}}" },
    },
    {
      name: "train",
      kind: "lambda",
      dependsOn: ["training_set", "compute_features", "validate_training_set"],
      memory: 3008,
      description: "Keel's built-in trainer, logged to experiment tracking",
      handler: async (ctx) => {
        const p = params(ctx);
        const keel = api(ctx);
        const out = await trainHandler({
          trainingSetUri: input<{ trainingSetUri: string }>(ctx, "training_set").trainingSetUri,
          label: "is_fraud",
          features: [...USER_FEATURES],
          algorithm: p.algorithm,
          params:
            p.algorithm === "gbdt" ? { rounds: 100, learningRate: 0.1, maxLeaves: 15, seed: p.seed } : {},
          seed: p.seed,
          trackingUrl: p.keelUrl,
          experimentId: await experimentId(keel),
          runName: `${p.algorithm}-${ctx.runId}`,
          // The model version's lineage shows the validation of the data it was trained on.
          tags: validationTags(ctx.inputs.validate_training_set),
        });
        // Lineage: the registry links the version to this pipeline run and the feature views it used.
        const { featureVersion } = input<ComputeOut>(ctx, "compute_features");
        for (const [key, value] of [
          [PIPELINE_RUN_TAG, ctx.runId],
          [FEATURE_VIEWS_TAG, `${userTransactionStats.name}:${featureVersion}`],
        ]) {
          await keel.call("POST", "/api/2.0/mlflow/runs/set-tag", { run_id: out.runId, key, value });
        }
        return { ...out };
      },
    },
    {
      name: "evaluate",
      kind: "lambda",
      dependsOn: ["train"],
      description: "validation metrics against the quality bar",
      handler: (ctx) => {
        const { metrics } = input<TrainOut>(ctx, "train");
        const auc = metrics.valid_auc;
        return {
          auc,
          logloss: metrics.valid_logloss,
          f1: metrics.valid_f1,
          minAuc: params(ctx).minAuc,
          passed: auc >= params(ctx).minAuc,
        };
      },
    },
    {
      name: "quality",
      kind: "gate",
      condition: "evaluate.passed == true",
      ifTrue: ["register"],
    },
    {
      name: "register",
      kind: "lambda",
      dependsOn: ["train", "evaluate"],
      cache: false,
      description: "a new version of the registered model",
      handler: async (ctx) => {
        const p = params(ctx);
        const keel = api(ctx);
        const { modelUri, runId } = input<TrainOut>(ctx, "train");
        const auc = input<{ auc: number }>(ctx, "evaluate").auc;
        const exists = await keel.find(
          "GET",
          `/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(p.model)}`,
        );
        if (!exists)
          await keel.call("POST", "/api/2.0/mlflow/registered-models/create", {
            name: p.model,
            description: "Scores card transactions for fraud from the card holder's recent activity",
          });
        const { model_version } = await keel.call<{ model_version: { version: string } }>(
          "POST",
          "/api/2.0/mlflow/model-versions/create",
          {
            name: p.model,
            source: modelUri,
            run_id: runId,
            description: `${p.algorithm}, validation AUC ${auc.toFixed(4)} (pipeline run ${ctx.runId})`,
          },
        );
        await keel.call("PUT", `/api/v1/models/${p.model}/versions/${model_version.version}/card`, {
          intended_use: "Flag card transactions for review from the card holder's last 30 days of activity.",
          limitations: "Trained on synthetic transactions generated by the Keel quickstart.",
        });
        return { model: p.model, version: model_version.version };
      },
    },
    {
      name: "request_promotion",
      kind: "lambda",
      dependsOn: ["register", "evaluate"],
      cache: false,
      description: "a promotion request into Production (four-eyes approval unless the stage auto-approves)",
      handler: async (ctx) => {
        const keel = api(ctx);
        const { model, version } = input<RegisterOut>(ctx, "register");
        const auc = input<{ auc: number }>(ctx, "evaluate").auc;
        // A retried or resumed step finds the request it made before (approved meanwhile, or
        // still pending) instead of opening a second one.
        const { promotions } = await keel.call<{ promotions: Promotion[] }>(
          "GET",
          `/api/v1/models/${encodeURIComponent(model)}/promotions`,
        );
        const earlier = promotions.filter((r) => r.version === version && r.target.stage === PROMOTION_STAGE);
        const promotion =
          earlier.find((r) => r.status === "APPROVED") ??
          earlier.find((r) => r.status === "PENDING") ??
          (
            await keel.call<{ promotion: Promotion }>(
              "POST",
              `/api/v1/models/${encodeURIComponent(model)}/versions/${version}/promotions`,
              {
                stage: PROMOTION_STAGE,
                comment: `validation AUC ${auc.toFixed(4)}; pipeline run ${ctx.runId}`,
              },
            )
          ).promotion;
        if (promotion.status !== "APPROVED") {
          throw new StepFailure(
            "Keel.ApprovalPending",
            `promotion request ${promotion.id} for ${model} v${version} awaits a reviewer: ` +
              `keel model approve ${promotion.id} --as <someone else>, then resume this run ` +
              `(the stage ${PROMOTION_STAGE} does not approve automatically here)`,
          );
        }
        return {
          promotionId: promotion.id,
          status: promotion.status,
          autoApproved: promotion.auto_approved,
          reviewer: promotion.reviewer ?? null,
        };
      },
    },
    {
      name: "deploy_canary",
      kind: "lambda",
      dependsOn: ["register", "request_promotion"],
      cache: false,
      description: "the new version next to the serving one, with a share of the traffic",
      handler: async (ctx) => {
        const p = params(ctx);
        const keel = api(ctx);
        const { model, version } = input<RegisterOut>(ctx, "register");
        const current = await keel.find<{ stable: { version: string } }>(
          "GET",
          `/api/v1/deployments/${p.deployment}`,
        );
        if (!current) {
          await keel.call("POST", "/api/v1/deployments", {
            name: p.deployment,
            model,
            version,
            environment: "production",
            // The demo's drift report reads the log, so it logs every request (production's default is 10%).
            sample_rate: 1,
            features: { feature_service: fraudV1.name, input: ONNX_INPUT },
          });
          return { deployment: p.deployment, mode: "created", version, weight: 100 };
        }
        if (current.stable.version === version)
          return { deployment: p.deployment, mode: "unchanged", version, weight: 100 };
        await keel.call("POST", `/api/v1/deployments/${p.deployment}/shift`, {
          model,
          version,
          weight: p.canaryWeight,
        });
        return { deployment: p.deployment, mode: "canary", version, weight: p.canaryWeight };
      },
    },
    {
      name: "promote",
      kind: "lambda",
      dependsOn: ["deploy_canary"],
      cache: false,
      description: "the canary takes all traffic",
      handler: async (ctx) => {
        const d = input<DeployOut>(ctx, "deploy_canary");
        if (d.mode === "canary")
          await api(ctx).call("POST", `/api/v1/deployments/${d.deployment}/promote`, {
            reason: `pipeline run ${ctx.runId}`,
          });
        const dep = await api(ctx).call<{ stable: { version: string }; canary?: unknown }>(
          "GET",
          `/api/v1/deployments/${d.deployment}`,
        );
        return { deployment: d.deployment, stable: dep.stable.version, weight: dep.canary ? 0 : 100 };
      },
    },
  ],
});
