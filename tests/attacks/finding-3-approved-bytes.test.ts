import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ServingService } from "@keel/serving";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMlp, mlpReference } from "../../bench/serving-onnx-mlp";
import { startTestPlatform } from "../helpers/platform";
import { rowsRequest, specFor } from "../serving/fixtures";
import { approveForProduction, auditEvents, registerVersion, type TestPlatform } from "./serving-fixtures";

/**
 * Finding 3: after approval, the version's model.onnx was overwritten and production served
 * the new bytes; nothing published approved versions to the repository Triton loads.
 */
let p: TestPlatform;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const serving = () =>
  (p.platform.modules.find((m) => m.name === "serving") as unknown as { service: ServingService }).service;

beforeAll(async () => {
  p = await startTestPlatform();
});

afterAll(async () => {
  await p?.close();
});

const deploy = (name: string, version: string) =>
  p.call("POST", "/api/v1/deployments", { name, model: "scorer", version, environment: "production" });

describe("finding 3: production serves only the bytes that were approved", () => {
  it("never serves a model file overwritten through the artifact API after approval", async () => {
    const { version, modelPath } = await registerVersion(p, "scorer", 1);
    await approveForProduction(p, "scorer", version);
    expect((await deploy("scorer-a", version)).status).toBe(201);

    const overwrite = await fetch(`${p.url}/api/2.0/mlflow-artifacts/artifacts/${modelPath}`, {
      method: "PUT",
      body: buildMlp(specFor(9)),
    });
    const r = await p.call("POST", "/v2/models/scorer-a/infer", rowsRequest([[1, 2, 3, 4]]));
    if (overwrite.status === 200) {
      // The artifact API let the bytes change: serving refuses them.
      expect(r.status).toBe(503);
      expect(r.json.error).toMatch(/SHA-256/);
    } else {
      // The artifact API kept the approved bytes: they are what is served.
      expect(r.status).toBe(200);
      expect(r.json.outputs[0].data[0]).toBeCloseTo(mlpReference(specFor(1), [1, 2, 3, 4])[0], 4);
    }
  });

  it("answers 503 and audits serving.digest_mismatch when the stored bytes differ from the pinned digest", async () => {
    const { version, modelPath } = await registerVersion(p, "scorer", 2);
    await approveForProduction(p, "scorer", version);
    expect((await deploy("scorer-b", version)).status).toBe(201);
    // Tampering below every API (the store's own files).
    const file = join(p.platform.deps.config.artifacts.root, modelPath);
    await writeFile(file, buildMlp(specFor(8)));

    for (let i = 0; i < 2; i++) {
      const r = await p.call("POST", "/v2/models/scorer-b/infer", rowsRequest([[1, 2, 3, 4]]));
      expect(r.status).toBe(503);
      // The Open Inference Protocol's error body: {"error": "..."}.
      expect(r.json.error).toMatch(/SHA-256 [0-9a-f]{64} differs from the [0-9a-f]{64} approved by bob/);
    }
    const events = (await auditEvents(p, "serving.digest_mismatch")).filter(
      (e) => e.resource === `model:scorer/${version}`,
    );
    expect(events).toHaveLength(1);
    expect(events[0].state).toMatchObject({ deployment: "scorer-b", actual: sha(await readFile(file)) });
  });

  it("publishes an approved version to the Triton repository and verifies the copy", async () => {
    const { version, modelPath } = await registerVersion(p, "scorer", 3);
    await approveForProduction(p, "scorer", version);
    const bytes = await readFile(join(p.platform.deps.config.artifacts.root, modelPath));
    const approval = await p.platform.services.registry
      .resolve("scorer", version)
      .then((v) => ({ sourceUri: v.storageLocation }));
    const publisher = serving().publisher;
    expect(publisher).toBeDefined();
    await publisher?.publish({
      model: "scorer",
      version,
      sourceUri: approval.sourceUri,
      digests: { "model.onnx": sha(bytes) },
    });
    const repo = join(p.platform.deps.config.core.dataDir, "models");
    expect(sha(await readFile(join(repo, "scorer", version, "model.onnx")))).toBe(sha(bytes));
    expect(await readFile(join(repo, "scorer", "config.pbtxt"), "utf8")).toMatch(/onnxruntime_onnx/);
    expect((await auditEvents(p, "serving.model.publish")).map((e) => e.resource)).toContain(
      `model:scorer/${version}`,
    );

    // Bytes that are not the approved ones are never published.
    await expect(
      publisher?.publish({
        model: "scorer",
        version,
        sourceUri: approval.sourceUri,
        digests: { "model.onnx": "0".repeat(64) },
      }),
    ).rejects.toThrow(/no longer matches its approved SHA-256/);
    expect((await auditEvents(p, "serving.publish_failed")).length).toBeGreaterThan(0);
  });
});
