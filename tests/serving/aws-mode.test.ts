import type { PutMetricDataCommand, PutMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import { loadConfig } from "@keel/core";
import {
  defaultBackendOf,
  InFlightPublisher,
  ModelServer,
  mountInferenceRoutes,
  serverApi,
} from "@keel/serving";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlpReference } from "../../bench/serving-onnx-mlp";
import { listen, rowsRequest, smallConfig, specFor, tempRepository } from "./fixtures";
import { startServing } from "./harness";

/**
 * The router as it runs in AWS: no model server in process; versions deployed with the default
 * backend go to the stage's Triton (here Keel's own server over HTTP, speaking the same protocol).
 */
const repo = tempRepository();
const triton = new ModelServer({ repository: repo.root, intraOpNumThreads: 1 });
let tritonUrl = "";
let closeTriton: () => Promise<void> = async () => {};

beforeAll(async () => {
  repo.add("fraud", smallConfig("fraud", "dynamic_batching { }\nversion_policy { all {} }"), [1, 2]);
  await triton.loadRepository();
  const app = new Hono();
  mountInferenceRoutes(app, serverApi(triton));
  const http = await listen(app);
  tritonUrl = http.url;
  closeTriton = http.close;
});

afterAll(async () => {
  await closeTriton();
  await triton.close();
  repo.remove();
});

/** The serving section of Keel's one config, as the router Lambda parses it. */
const loadServingConfig = (env: Record<string, string>) => loadConfig(env).serving;

describe("serving in AWS mode", () => {
  it("reads its settings from the environment and names the variable at fault", () => {
    const c = loadServingConfig({
      KEEL_SERVING_IN_PROCESS: "false",
      KEEL_SERVING_BACKEND: "kserve",
      KEEL_SERVING_URL: "http://triton:8000",
    });
    expect(c).toMatchObject({ inProcess: false, provider: "cpu" });
    expect(defaultBackendOf(c)).toEqual({ type: "kserve", url: "http://triton:8000" });
    expect(() => loadServingConfig({ KEEL_SERVING_BACKEND: "kserve" })).toThrow(
      /KEEL_SERVING_URL: required when KEEL_SERVING_BACKEND=kserve/,
    );
    expect(() => loadServingConfig({ KEEL_SERVING_PROVIDER: "cuda" })).toThrow(/KEEL_SERVING_PROVIDER/);
    expect(
      defaultBackendOf(
        loadServingConfig({ KEEL_SERVING_BACKEND: "sagemaker", KEEL_SAGEMAKER_ENDPOINT: "ep" }),
      ),
    ).toEqual({ type: "sagemaker", endpoint: "ep" });
  });

  it("routes default-backend versions to the stage's KServe server", async () => {
    const h = await startServing(repo.root, {
      modelServer: undefined,
      serving: loadServingConfig({
        KEEL_SERVING_IN_PROCESS: "false",
        KEEL_SERVING_BACKEND: "kserve",
        KEEL_SERVING_URL: tritonUrl,
      }),
    });
    try {
      expect(h.module.service.server).toBeUndefined();
      expect(
        (await h.call("POST", "/api/v1/deployments", { name: "fraud", model: "fraud", version: "2" })).status,
      ).toBe(201);
      const r = await h.call("POST", "/v2/models/fraud/infer", rowsRequest([[1, 2, 3, 4]]));
      expect(r.status).toBe(200);
      expect(r.json.model_version).toBe("2");
      expect(r.json.outputs[0].data[0]).toBeCloseTo(mlpReference(specFor(2), [1, 2, 3, 4])[0], 4);
      const direct = await h.call("POST", "/v2/models/other/infer", rowsRequest([[1, 2, 3, 4]]));
      expect(direct.status).toBe(404);
      expect(direct.json.error).toMatch(/'other' is not a deployment/);
      expect(triton.metrics.requestSuccess.get({ model: "fraud", version: "2" })).toBe(1);
    } finally {
      await h.close();
    }
  });

  it("publishes the in-flight gauge as PutMetricData with the Stage dimension", async () => {
    const sent: PutMetricDataCommandInput[] = [];
    let current = 3;
    const p = new InFlightPublisher(
      { send: async (c: PutMetricDataCommand) => void sent.push(c.input) },
      "Keel/Serving",
      "prod",
      () => current,
    );
    await p.publish();
    current = 0;
    await p.publish();
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({
      Namespace: "Keel/Serving",
      MetricData: [
        {
          MetricName: "InFlightRequests",
          Dimensions: [{ Name: "Stage", Value: "prod" }],
          Value: 3,
          Unit: "Count",
        },
      ],
    });
    expect(sent[1].MetricData?.[0].Value).toBe(0);
  });
});
