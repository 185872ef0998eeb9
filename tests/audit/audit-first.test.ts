import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { type NotApplied, notingNotApplied, StoreAuditLog, verifyChain, verifyWithState } from "@keel/audit";
import { createLogger, ROLES, systemClock, withContext } from "@keel/core";
import { type MetadataStore, SqliteMetadataStore } from "@keel/metadata";
import { RegistryService, registryAuditedState } from "@keel/registry";
import { afterAll, describe, expect, it } from "vitest";
import { buildMlp } from "../../bench/serving-onnx-mlp";
import { freshMetadataStore } from "../helpers/metadata";
import { startTestPlatform } from "../helpers/platform";
import { specFor } from "../serving/fixtures";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

/** `keel audit verify --data-dir` in a child process: its exit code and output. */
async function verifyDataDir(dataDir: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, "packages/cli/bin/keel.mjs"), "audit", "verify", "--data-dir", dataDir],
      { cwd: ROOT, timeout: 60_000 },
    );
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string };
    return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "" };
  }
}

/** A store whose version writes fail while `crash` is set: the process dies after the event. */
function crashingStore(store: MetadataStore): MetadataStore & { crash: boolean } {
  const state = { crash: false };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "crash") return state.crash;
      if (prop === "update" && state.crash) {
        return (key: { sk: string }, ...rest: unknown[]) =>
          key.sk.startsWith("V#")
            ? Promise.reject(new Error("crash between the audit event and the state write"))
            : (target.update as (...a: unknown[]) => unknown).call(target, key, ...rest);
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
    set(_target, prop, value) {
      if (prop !== "crash") return false;
      state.crash = value;
      return true;
    },
  }) as MetadataStore & { crash: boolean };
}

describe("the audit event precedes the state it names", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("a crash between the event and the state write leaves the event, no change, and a trail that verifies", async () => {
    const db = await freshMetadataStore();
    cleanups.push(db.close);
    const store = crashingStore(db.store);
    const audit = new StoreAuditLog(db.store);
    const registry = new RegistryService({
      store,
      audit,
      clock: systemClock,
      log: createLogger("error"),
      autoApproveStages: [],
    });
    await withContext({ principal: "alice", requestId: "r1", roles: ROLES }, async () => {
      await registry.createRegisteredModel({ name: "crashy" });
      await registry.createModelVersion({ name: "crashy", source: "s3://b/m" });
      // A policy is protected state too: its item carries the mark of the event that set it.
      await registry.setPolicy("crashy", { protected_stages: ["Production", "Staging"] });
      store.crash = true;
      await expect(registry.transitionStage("crashy", 1, "None")).rejects.toThrow(/crash between/);
      store.crash = false;
    });

    const transitions = (await audit.list({ action: "registry.version.transition" })).events;
    expect(transitions).toHaveLength(1);
    expect(transitions[0]).toMatchObject({ resource: "model:crashy/version:1", state: { to: "None" } });
    expect((transitions[0].state as { changeId?: string }).changeId).toMatch(/^[0-9a-f-]{36}$/);
    const version = await registry.getModelVersion("crashy", "1");
    expect(version.currentStage).toBe("None");
    expect((version as { lastChangeId?: string }).lastChangeId).toBeUndefined();
    const verified = await verifyWithState(
      await audit.verify(),
      (s) => audit.at(s),
      [registryAuditedState(db.store)],
      audit,
    );
    // The failed write was recorded as the outcome; after a real crash only the event would remain.
    expect(verified).toMatchObject({
      ok: true,
      notApplied: [
        {
          seq: transitions[0].seq,
          action: "registry.version.transition",
          resource: "model:crashy/version:1",
        },
      ],
    });
    // Noting the not-applied changes during the chain's one read gives the same result as listing them.
    const noted: NotApplied[] = [];
    const onePass = await verifyWithState(
      await verifyChain(notingNotApplied(audit.scanForVerify(), noted)),
      (s) => audit.at(s),
      [registryAuditedState(db.store)],
      { notApplied: noted },
    );
    expect(noted).toHaveLength(1);
    expect(onePass).toEqual(verified);
    // The policy is protected state too: its item names the event that set it.
    expect(await db.store.queryAll({ pk: `RM#${version.modelId}`, prefix: "POLICY" })).toEqual([
      expect.objectContaining({ auditSeq: expect.any(Number), changeId: expect.any(String) }),
    ]);
  });

  it("verify passes after four-eyes promotion and a production deployment, and names state written without its event", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "keel-audit-first-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const p = await startTestPlatform({ dataDir });
    const as = (principal: string) => ({ "x-keel-principal": principal });
    try {
      const created = await p.call("POST", "/api/2.0/mlflow/runs/create", { experiment_id: "0" });
      const { run_id, artifact_uri } = created.json.run.info;
      const path = `${String(artifact_uri).replace(/^mlflow-artifacts:\//, "")}/model/model.onnx`;
      const put = await fetch(`${p.url}/api/2.0/mlflow-artifacts/artifacts/${path}`, {
        method: "PUT",
        body: buildMlp(specFor(5)),
      });
      expect(put.status).toBe(200);
      await p.call("POST", "/api/2.0/mlflow/registered-models/create", { name: "fraud" }, as("alice"));
      for (let i = 0; i < 3; i++) {
        const mv = await p.call(
          "POST",
          "/api/2.0/mlflow/model-versions/create",
          { name: "fraud", source: `runs:/${run_id}/model`, run_id },
          as("alice"),
        );
        expect(mv.status).toBe(200);
      }
      for (const target of [{ stage: "Production" }, { alias: "champion" }]) {
        const req = await p.call("POST", "/api/v1/models/fraud/versions/1/promotions", target, as("alice"));
        expect(req.status).toBe(201);
        const ok = await p.call("POST", `/api/v1/promotions/${req.json.promotion.id}/approve`, {}, as("bob"));
        expect(ok.json.promotion.status).toBe("APPROVED");
      }
      const dep = await p.call(
        "POST",
        "/api/v1/deployments",
        { name: "fraud-prod", model: "fraud", version: "1", environment: "production" },
        as("alice"),
      );
      expect(dep.status).toBe(201);

      const verified = await p.call("GET", "/api/v1/audit/verify");
      expect(verified.json).toMatchObject({ ok: true });
    } finally {
      await p.close();
    }
    const clean = await verifyDataDir(dataDir);
    expect(clean.stdout).toMatch(/^ok \d+ events\n$/);
    expect(clean.code).toBe(0);

    // The attack: someone with table access moves v3 into Production without any event, and
    // gives v2 the mark of v1's approved move (an event that exists but names another change).
    const store = new SqliteMetadataStore({ path: join(dataDir, "metadata.sqlite") });
    try {
      const claim = await store.get({ pk: "RMNAME#fraud", sk: "NAME" });
      const [v1, v2, v3] = await store.queryAll({ pk: `RM#${claim?.modelId}`, prefix: "V#" });
      expect(v1).toMatchObject({ version: 1, currentStage: "Production" });
      await store.update({ pk: v3.pk, sk: v3.sk }, { set: [["currentStage", "Production"]] });
      const deployment = await store.get({ pk: "DEPLOYMENT#fraud-prod", sk: "META" });
      const edited = { ...(deployment?.deployment as object), stable: { model: "fraud", version: "3" } };
      await store.update({ pk: "DEPLOYMENT#fraud-prod", sk: "META" }, { set: [["deployment", edited]] });
      await store.update(
        { pk: v2.pk, sk: v2.sk },
        {
          set: [
            ["currentStage", "Production"],
            ["lastAuditSeq", v1.lastAuditSeq],
            ["lastChangeId", v1.lastChangeId],
          ],
        },
      );
    } finally {
      await store.close();
    }
    const attacked = await verifyDataDir(dataDir);
    expect(attacked.code).toBe(1);
    expect(attacked.stdout).toBe(
      "state without audit event: deployment fraud-prod in production (revision 1)\n" +
        "state without audit event: model fraud v2 in Production\n" +
        "state without audit event: model fraud v3 in Production\n",
    );
  });
});
