import { ArtifactProxyService } from "@keel/artifacts";
import { withContext } from "@keel/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import type { TestPlatform } from "../registry/registry-fixtures";
import { ARTIFACTS, as, keelApi, promote, registeredVersion, sha256 } from "./attack-fixtures";

/**
 * Finding 3 (the registry and artifact half): after approval, the version's `model.onnx` was
 * overwritten through the artifact API and production served the new bytes. An approval now
 * pins the SHA-256 of every file, and a registered version's files cannot change through any
 * artifact API. Prediction logs and evidence are neither deletable nor readable by everyone.
 */
let p: TestPlatform;
let keel: ReturnType<typeof keelApi>;

beforeAll(async () => {
  p = await startTestPlatform();
  keel = keelApi(p);
});
afterAll(async () => {
  await p?.close();
});

describe("finding 3: approvals pin content, registered files are immutable", () => {
  it("refuses overwriting, deleting or multipart-uploading a registered version's files", async () => {
    const v = await registeredVersion(p, "pinned");
    const overwrite = await p.call("PUT", `${ARTIFACTS}/${v.modelPrefix}/model.onnx`, "evil-bytes", {
      "content-type": "application/octet-stream",
    });
    expect([overwrite.status, overwrite.json.error_code]).toEqual([403, "PERMISSION_DENIED"]);
    expect(overwrite.json.message).toContain("registered model 'pinned' version 1");
    const added = await p.call("PUT", `${ARTIFACTS}/${v.modelPrefix}/extra.py`, "import os");
    expect(added.status).toBe(403);
    expect((await p.call("DELETE", `${ARTIFACTS}/${v.modelPrefix}/model.onnx`)).status).toBe(403);
    // Deleting a directory above the version's files would remove them too.
    expect((await p.call("DELETE", `${ARTIFACTS}/${v.root}`)).status).toBe(403);
    const mpu = await p.call("POST", `/api/2.0/mlflow-artifacts/mpu/create/${v.modelPrefix}`, {
      path: "/tmp/model.onnx",
      num_parts: 1,
    });
    expect(mpu.status).toBe(403);
    const bytes = await p.platform.deps.artifacts.getBytes(`${v.modelPrefix}/model.onnx`);
    expect(bytes.toString()).toBe("onnx-bytes-v1");
    // The run's other artifacts stay writable.
    expect((await p.call("PUT", `${ARTIFACTS}/${v.root}/plots/roc.txt`, "roc")).status).toBe(200);
    const refused = await p.platform.deps.audit.list({ action: "artifacts.refused" });
    expect(refused.events.length).toBeGreaterThanOrEqual(5);
  });

  it("records every file's digest at request time, and refuses approval when the bytes changed", async () => {
    const v = await registeredVersion(p, "tampered");
    const req = await keel(
      "POST",
      `/models/tampered/versions/${v.version}/promotions`,
      { stage: "Production" },
      "alice",
    );
    expect(req.status).toBe(201);
    expect(req.json.promotion.artifact_digests).toEqual({
      MLmodel: sha256("flavors: {}"),
      "model.onnx": sha256("onnx-bytes-v1"),
    });
    const requested = await p.platform.deps.audit.list({
      resource: "model:tampered/version:1",
      action: "registry.promotion.request",
    });
    expect(requested.events[0]?.state).toMatchObject({
      artifactDigests: { "model.onnx": sha256("onnx-bytes-v1") },
    });
    // Bytes changed behind every API (e.g. straight in the bucket): the approval notices.
    await p.platform.deps.artifacts.put(`${v.modelPrefix}/model.onnx`, Buffer.from("swapped"));
    const approve = await keel("POST", `/promotions/${req.json.promotion.id}/approve`, {}, "bob");
    expect(approve.status).toBe(400);
    expect(approve.json.message).toContain("model.onnx");
    const version = await p.call("GET", "/api/2.0/mlflow/model-versions/get?name=tampered&version=1");
    expect(version.json.model_version.current_stage).toBe("None");
    const refusals = await p.platform.deps.audit.list({ action: "registry.promotion.approval_refused" });
    expect(
      refusals.events.some((e) => (e.state as { changed?: string[] }).changed?.includes("model.onnx")),
    ).toBe(true);
  });

  it("answers serving's productionApproval with the pinned digests and publishes approved versions", async () => {
    const published: unknown[] = [];
    const registry = p.platform.services.registry;
    registry.setPublisher({ publish: async (input) => void published.push(input) });
    try {
      const v = await registeredVersion(p, "served");
      expect(await registry.productionApproval("served", v.version)).toBeUndefined();
      await promote(p, "served", v.version, { stage: "Production" });
      const approval = await registry.productionApproval("served", v.version);
      expect(approval).toMatchObject({
        approvedBy: "bob",
        digests: { "model.onnx": sha256("onnx-bytes-v1"), MLmodel: sha256("flavors: {}") },
        sourceUri: `${v.artifactUri}/model`,
      });
      expect(published).toEqual([
        { model: "served", version: "1", sourceUri: `${v.artifactUri}/model`, digests: approval?.digests },
      ]);
    } finally {
      registry.setPublisher(undefined);
    }
  });

  it("never deletes predictions/ or evidence/, and lets only auditors and deployers read them", async () => {
    const store = p.platform.deps.artifacts;
    await store.put("predictions/deployment=d/date=2026-12-07/rows.parquet", Buffer.from("personal data"));
    await store.put("evidence/models/m/versions/1/model-card.md", Buffer.from("# card"));
    for (const path of [
      "predictions/deployment=d",
      "evidence/models/m/versions/1/model-card.md",
      "predictions",
    ]) {
      const r = await p.call("DELETE", `${ARTIFACTS}/${path}`);
      expect([path, r.status]).toEqual([path, 403]);
    }
    expect(
      (await p.call("PUT", `${ARTIFACTS}/evidence/models/m/versions/1/model-card.md`, "forged")).status,
    ).toBe(403);
    expect((await store.getBytes("evidence/models/m/versions/1/model-card.md")).toString()).toBe("# card");

    const proxy = new ArtifactProxyService(store);
    const reads: Array<() => Promise<unknown>> = [
      () => proxy.download("predictions/deployment=d/date=2026-12-07/rows.parquet"),
      () => proxy.list("evidence/models"),
    ];
    for (const read of reads) {
      await expect(withContext(as("dana", "data-scientist", "approver"), read)).rejects.toMatchObject({
        code: "PERMISSION_DENIED",
        message: expect.stringContaining("auditor or deployer"),
      });
      await expect(withContext(as("audrey", "auditor"), read)).resolves.toBeDefined();
      await expect(withContext(as("dee", "deployer"), read)).resolves.toBeDefined();
    }
  });
});
