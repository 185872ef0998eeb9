import { contract, type RouteSpec } from "@keel/contract";
import { KeelClient } from "@keel/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/** The contract's response schemas describe what the server really answers. */
let p: Awaited<ReturnType<typeof startTestPlatform>>;

beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(async () => {
  await p?.close();
});

function conforms(route: RouteSpec, json: unknown) {
  const r = route.response!.safeParse(json);
  expect(r.success, `${route.id}: ${r.error?.message}`).toBe(true);
}

it("answers what each route's response schema declares", async () => {
  const keel = new KeelClient({ app: p.platform.app });
  const t = contract.tracking;
  const g = contract.registry;
  const { experiment_id } = await keel.call(t.createExperiment, { body: { name: "shapes" } });
  conforms(
    t.getExperiment,
    await p.call("GET", `/api/2.0/mlflow/experiments/get?experiment_id=${experiment_id}`).then((r) => r.json),
  );
  const created = await p.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id });
  conforms(t.createRun, created.json);
  const run_id = created.json.run.info.run_id;
  await keel.tracking.logBatch(run_id, {
    metrics: [{ key: "auc", value: 0.9 }],
    params: { depth: 3 },
    tags: { a: "b" },
  });
  conforms(t.getRun, (await p.call("POST", "/api/2.0/mlflow/runs/get", { run_id })).json);
  conforms(
    t.searchRuns,
    (await p.call("POST", "/api/2.0/mlflow/runs/search", { experiment_ids: [experiment_id] })).json,
  );
  conforms(
    t.getMetricHistory,
    (await p.call("GET", `/api/2.0/mlflow/metrics/get-history?run_id=${run_id}&metric_key=auc`)).json,
  );
  conforms(t.listArtifacts, (await p.call("GET", `/api/2.0/mlflow/artifacts/list?run_id=${run_id}`)).json);
  conforms(t.searchExperiments, (await p.call("POST", "/api/2.0/mlflow/experiments/search", {})).json);
  conforms(
    g.createRegisteredModel,
    (await p.call("POST", "/api/2.0/mlflow/registered-models/create", { name: "shapes" })).json,
  );
  conforms(
    g.createModelVersion,
    (
      await p.call("POST", "/api/2.0/mlflow/model-versions/create", {
        name: "shapes",
        source: "s3://b/m",
        run_id,
      })
    ).json,
  );
  conforms(
    g.getRegisteredModel,
    (await p.call("GET", "/api/2.0/mlflow/registered-models/get?name=shapes")).json,
  );
  conforms(g.searchModelVersions, (await p.call("GET", "/api/2.0/mlflow/model-versions/search")).json);
  const gov = contract.governance;
  conforms(gov.getPolicy, (await p.call("GET", "/api/v1/models/shapes/policy")).json);
  const promo = await p.call("POST", "/api/v1/models/shapes/versions/1/promotions", { stage: "Production" });
  conforms(gov.requestPromotion, promo.json);
  conforms(gov.listPromotions, (await p.call("GET", "/api/v1/models/shapes/promotions")).json);
  conforms(gov.getLineage, (await p.call("GET", "/api/v1/models/shapes/versions/1/lineage")).json);
  conforms(contract.audit.list, (await p.call("GET", "/api/v1/audit?max_results=50")).json);
  conforms(contract.audit.verify, (await p.call("GET", "/api/v1/audit/verify")).json);
  conforms(contract.pipelines.list, (await p.call("GET", "/api/v1/pipelines")).json);
  conforms(contract.pipelines.listRuns, (await p.call("GET", "/api/v1/pipelines/runs")).json);
  conforms(contract.deployments.list, (await p.call("GET", "/api/v1/deployments")).json);
  conforms(contract.features.listDefinitions, (await p.call("GET", "/api/v1/features/definitions")).json);
  conforms(contract.kserve.serverMetadata, (await p.call("GET", "/v2")).json);
  conforms(contract.platform.apiHealth, (await p.call("GET", "/api/v1/health")).json);
});
