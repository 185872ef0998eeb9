import type { InvokeEndpointCommand, InvokeEndpointCommandInput } from "@aws-sdk/client-sagemaker-runtime";
import {
  InProcessBackend,
  KServeHttpBackend,
  ModelServer,
  mountInferenceRoutes,
  SageMakerBackend,
  serverApi,
} from "@keel/serving";
import { Hono } from "hono";
import { afterAll, beforeAll, expect, it } from "vitest";
import { listen, smallConfig, specFor, tempRepository } from "../serving/fixtures";
import { inferenceBackendSuite } from "./inference-backend.suite";

const repo = tempRepository();
const server = new ModelServer({ repository: repo.root, intraOpNumThreads: 1 });
let url = "";
let closeHttp: () => Promise<void> = async () => {};
const spec = specFor(1);

beforeAll(async () => {
  repo.add("mlp", smallConfig("mlp", "dynamic_batching { }"), [1]);
  await server.loadRepository();
  const app = new Hono();
  mountInferenceRoutes(app, serverApi(server));
  const http = await listen(app);
  url = http.url;
  closeHttp = http.close;
});

afterAll(async () => {
  await closeHttp();
  await server.close();
  repo.remove();
});

inferenceBackendSuite("in-process model server", async () => ({
  backend: new InProcessBackend(server, "mlp", "1"),
  missingModel: new InProcessBackend(server, "absent", "1"),
  spec,
}));

inferenceBackendSuite("KServe v2 HTTP (keel's model server over loopback)", async () => ({
  backend: new KServeHttpBackend(url, "mlp", "1"),
  missingModel: new KServeHttpBackend(url, "absent"),
  spec,
}));

/**
 * AWS is unreachable here, so the SageMaker runtime client is replaced by one that checks each
 * command's input against the SDK's InvokeEndpointCommandInput type and forwards the body, as
 * a SageMaker Triton container would, to Keel's model server.
 */
const sent: InvokeEndpointCommandInput[] = [];
const sagemakerClient = {
  async send(command: InvokeEndpointCommand) {
    const input: InvokeEndpointCommandInput = command.input;
    sent.push(input);
    const model = input.EndpointName === "fraud-endpoint" ? "mlp" : "absent";
    const res = await fetch(`${url}/v2/models/${model}/infer`, {
      method: "POST",
      body: new TextDecoder().decode(input.Body as Uint8Array),
      headers: { "content-type": input.ContentType ?? "" },
    });
    const text = await res.text();
    if (!res.ok) {
      // SageMaker wraps a container's error response in a ModelError carrying the original status.
      throw Object.assign(new Error(`Received client error (${res.status}) from primary`), {
        name: "ModelError",
        OriginalStatusCode: res.status,
        OriginalMessage: JSON.parse(text).error,
      });
    }
    return { Body: new TextEncoder().encode(text), ContentType: "application/json", $metadata: {} } as never;
  },
};

inferenceBackendSuite(
  "SageMaker runtime InvokeEndpoint (SDK stand-in forwarding to keel's server)",
  async () => ({
    backend: new SageMakerBackend(sagemakerClient, "fraud-endpoint", "canary"),
    missingModel: new SageMakerBackend(sagemakerClient, "other-endpoint"),
    spec,
    skip: {
      metadata: "SageMaker's runtime API has no model metadata call",
      missingModel:
        "SageMaker reports a missing endpoint as ValidationError before the container sees the request",
    },
  }),
);

it("sends InvokeEndpoint requests shaped as the SDK types them", () => {
  expect(sent.length).toBeGreaterThan(0);
  for (const input of sent) {
    expect(input).toMatchObject({
      EndpointName: "fraud-endpoint",
      ContentType: "application/json",
      Accept: "application/json",
      TargetVariant: "canary",
    });
    expect(JSON.parse(new TextDecoder().decode(input.Body as Uint8Array)).inputs[0].name).toBe("input");
  }
});
