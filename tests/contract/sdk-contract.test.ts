import { createServer } from "node:net";
import { contract } from "@keel/contract";
import { isKeelApiError, KeelApiError, KeelClient, KeelConnectionError } from "@keel/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/** The SDK typed from the contract, over HTTP and in process, against a real platform. */
let p: Awaited<ReturnType<typeof startTestPlatform>>;

beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(async () => {
  await p?.close();
});

describe("KeelClient.call", () => {
  it("calls any route by operationId or declaration, with typed input and output", async () => {
    const keel = new KeelClient({ url: p.url, principal: "ana" });
    const { experiment_id } = await keel.call("tracking.createExperiment", { body: { name: "sdk-call" } });
    const got = await keel.call(contract.tracking.getExperiment, { body: { experiment_id } });
    expect(got.experiment.name).toBe("sdk-call");
    const health = await keel.call("platform.apiHealth");
    expect(health.modules).toContain("tracking");
    // @ts-expect-error a required body is required
    await expect(keel.call("tracking.createExperiment")).rejects.toBeInstanceOf(KeelApiError);
  });

  it("runs in process through the app, with no server socket", async () => {
    const keel = new KeelClient({ app: p.platform.app, principal: "bo" });
    const model = await keel.registry.createModel("sdk-in-process");
    expect(model.name).toBe("sdk-in-process");
    const run = await keel.tracking.createRun({});
    const v = await keel.registry.createVersion({
      name: "sdk-in-process",
      source: "s3://x/model",
      run_id: run.info.run_id,
    });
    expect(v.version).toBe("1");
    const promo = await keel.registry.requestPromotion("sdk-in-process", "1", {
      stage: "Production",
      comment: "ship it",
    });
    expect(promo).toMatchObject({ model: "sdk-in-process", version: "1", requester: "bo" });
    expect((await keel.registry.promotions("sdk-in-process")).map((x) => x.id)).toContain(promo.id);
    const card = await keel.registry.card("sdk-in-process", "1");
    expect(card).toContain("sdk-in-process");
  });

  it("reaches every area's facade", async () => {
    const keel = new KeelClient({ url: p.url });
    expect(Array.isArray(await keel.deployments.list())).toBe(true);
    expect(Array.isArray(await keel.pipelines.list())).toBe(true);
    expect((await keel.pipelines.runs()).runs).toBeInstanceOf(Array);
    expect((await keel.audit.list({ max_results: 5 })).events.length).toBeGreaterThan(0);
    expect((await keel.audit.verify()).ok).toBe(true);
    expect(typeof (await keel.features.definitions()).version).toBe("number");
  });
});

describe("errors", () => {
  it("answers KeelApiError with the status, code and message the server sent", async () => {
    const keel = new KeelClient({ url: p.url });
    const err = await keel.deployments.get("no-such-deployment").catch((e: unknown) => e);
    expect(isKeelApiError(err, "RESOURCE_DOES_NOT_EXIST")).toBe(true);
    expect(err).toMatchObject({ status: 404 });
    const bad = await keel.call("pipelines.listRuns", { query: { limit: 0 } }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, errorCode: "INVALID_PARAMETER_VALUE" });
    expect((bad as Error).message).toContain("invalid query: limit");
  });

  it("reads KServe v2's {error} answers too", async () => {
    const keel = new KeelClient({ url: p.url });
    const err = await keel.serving
      .infer("no-such-model", { inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: [1] }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeelApiError);
    expect(err).toMatchObject({ status: 404, code: "RESOURCE_DOES_NOT_EXIST" });
    expect((err as Error).message).toContain("no-such-model");
  });

  it("says clearly when no server answers", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const err = await new KeelClient({ url }).deployments.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeelConnectionError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot reach Keel at ${url}: ECONNREFUSED`));
  });
});
