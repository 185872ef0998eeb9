import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { createRun, mlflowClient, type TestPlatform } from "./registry-fixtures";

let p: TestPlatform;
let api: ReturnType<typeof mlflowClient>;

beforeAll(async () => {
  p = await startTestPlatform();
  api = mlflowClient(p);
});
afterAll(async () => {
  await p?.close();
});

describe("registered models over MLflow's REST API", () => {
  it("creates, reads, updates, tags and deletes a model", async () => {
    const created = await api.ok("POST", "/registered-models/create", {
      name: "crud",
      description: "first",
      tags: [{ key: "team", value: "risk" }],
    });
    expect(created.registered_model).toMatchObject({ name: "crud", description: "first", user_id: "alice" });
    expect(created.registered_model.tags).toEqual([{ key: "team", value: "risk" }]);

    const dup = await api.call("POST", "/registered-models/create", { name: "crud" });
    expect(dup.status).toBe(409);
    expect(dup.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");

    await api.ok("PATCH", "/registered-models/update", { name: "crud", description: "second" });
    await api.ok("POST", "/registered-models/set-tag", { name: "crud", key: "owner", value: "bob" });
    await api.ok("DELETE", "/registered-models/delete-tag", { name: "crud", key: "team" });
    const got = await api.ok("GET", "/registered-models/get?name=crud");
    expect(got.registered_model.description).toBe("second");
    expect(got.registered_model.tags).toEqual([{ key: "owner", value: "bob" }]);

    // As MLflow's server: deleting an absent tag is a no-op; on an unknown model it is a 404.
    await api.ok("DELETE", "/registered-models/delete-tag", { name: "crud", key: "nope" });
    const unknownModelTag = await api.call("DELETE", "/registered-models/delete-tag", {
      name: "none",
      key: "k",
    });
    expect(unknownModelTag.status).toBe(404);

    await api.ok("DELETE", "/registered-models/delete", { name: "crud" });
    const gone = await api.call("GET", "/registered-models/get?name=crud");
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual({
      error_code: "RESOURCE_DOES_NOT_EXIST",
      message: expect.stringContaining("crud"),
    });
  });

  it("renames a model and carries its versions and aliases; refuses a taken name without changing anything", async () => {
    await api.ok("POST", "/registered-models/create", { name: "old-name" });
    await api.ok("POST", "/model-versions/create", { name: "old-name", source: "s3://bucket/m1" });
    await api.ok("POST", "/registered-models/alias", { name: "old-name", alias: "candidate", version: "1" });
    await api.ok("POST", "/registered-models/create", { name: "taken" });

    const clash = await api.call("POST", "/registered-models/rename", {
      name: "old-name",
      new_name: "taken",
    });
    expect(clash.status).toBe(409);
    expect(clash.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    expect((await api.ok("GET", "/registered-models/get?name=old-name")).registered_model.aliases).toEqual([
      { alias: "candidate", version: "1" },
    ]);

    const renamed = await api.ok("POST", "/registered-models/rename", {
      name: "old-name",
      new_name: "new-name",
    });
    expect(renamed.registered_model.name).toBe("new-name");
    expect((await api.call("GET", "/registered-models/get?name=old-name")).status).toBe(404);
    const byAlias = await api.ok("GET", "/registered-models/alias?name=new-name&alias=candidate");
    expect(byAlias.model_version).toMatchObject({ name: "new-name", version: "1", aliases: ["candidate"] });
    // The old name is free again.
    await api.ok("POST", "/registered-models/create", { name: "old-name" });
  });

  it("searches models with filters, ordering and pages", async () => {
    for (const n of ["search-c", "search-a", "search-b"]) {
      await api.ok("POST", "/registered-models/create", {
        name: n,
        tags: [{ key: "kind", value: n.slice(-1) }],
      });
    }
    const like = await api.ok(
      "GET",
      `/registered-models/search?filter=${encodeURIComponent("name LIKE 'search-%'")}`,
    );
    expect(like.registered_models.map((m: { name: string }) => m.name)).toEqual([
      "search-a",
      "search-b",
      "search-c",
    ]);
    const tagged = await api.ok(
      "GET",
      `/registered-models/search?filter=${encodeURIComponent("tags.kind = 'b'")}`,
    );
    expect(tagged.registered_models.map((m: { name: string }) => m.name)).toEqual(["search-b"]);

    const names: string[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({
        filter: "name ILIKE 'SEARCH-%'",
        max_results: "2",
        order_by: "name DESC",
      });
      if (token) q.set("page_token", token);
      const page = await api.ok("GET", `/registered-models/search?${q}`);
      names.push(...page.registered_models.map((m: { name: string }) => m.name));
      token = page.next_page_token;
    } while (token);
    expect(names).toEqual(["search-c", "search-b", "search-a"]);

    const bad = await api.call(
      "GET",
      `/registered-models/search?filter=${encodeURIComponent("owner = 'x'")}`,
    );
    expect(bad.status).toBe(400);
    expect(bad.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("model versions", () => {
  it("registers a run's model, resolves the download URI through the artifact proxy, and searches versions", async () => {
    const run = await createRun(p, { metrics: { auc: 0.93 } });
    await api.ok("POST", "/registered-models/create", { name: "fraud" });
    const mv = await api.ok("POST", "/model-versions/create", {
      name: "fraud",
      source: `runs:/${run.runId}/model`,
      run_id: run.runId,
      tags: [{ key: "framework", value: "onnx" }],
    });
    expect(mv.model_version).toMatchObject({
      name: "fraud",
      version: "1",
      current_stage: "None",
      status: "READY",
      run_id: run.runId,
    });
    const uri = await api.ok("GET", "/model-versions/get-download-uri?name=fraud&version=1");
    expect(uri.artifact_uri).toBe(`${run.artifactUri}/model`);
    expect(uri.artifact_uri).toMatch(/^mlflow-artifacts:\//);

    await api.ok("POST", "/model-versions/create", {
      name: "fraud",
      source: `runs:/${run.runId}/model`,
      run_id: run.runId,
    });
    await api.ok("PATCH", "/model-versions/update", {
      name: "fraud",
      version: "2",
      description: "retrained",
    });
    await api.ok("POST", "/model-versions/set-tag", {
      name: "fraud",
      version: "2",
      key: "validated",
      value: "yes",
    });

    const byRun = await api.ok(
      "GET",
      `/model-versions/search?filter=${encodeURIComponent(`run_id = '${run.runId}'`)}`,
    );
    expect(byRun.model_versions.map((v: { version: string }) => v.version)).toEqual(["2", "1"]);
    const byTag = await api.ok(
      "GET",
      `/model-versions/search?filter=${encodeURIComponent("name = 'fraud' AND tags.validated = 'yes'")}`,
    );
    expect(byTag.model_versions).toHaveLength(1);
    expect(byTag.model_versions[0]).toMatchObject({ version: "2", description: "retrained" });

    await api.ok("DELETE", "/model-versions/delete-tag", { name: "fraud", version: "2", key: "validated" });
    expect((await api.ok("GET", "/model-versions/get?name=fraud&version=2")).model_version.tags).toEqual([]);

    const unknownRun = await api.call("POST", "/model-versions/create", {
      name: "fraud",
      source: "runs:/0123456789abcdef0123456789abcdef/model",
      run_id: "0123456789abcdef0123456789abcdef",
    });
    expect(unknownRun.status).toBe(404);
    // The refused create took no number: the next version is 3.
    const third = await api.ok("POST", "/model-versions/create", { name: "fraud", source: "s3://b/m" });
    expect(third.model_version.version).toBe("3");
  });

  it("leaves exactly one version in Staging when archiving transitions race (found with the official client)", async () => {
    await api.ok("POST", "/registered-models/create", { name: "racing" });
    for (let i = 0; i < 4; i++)
      await api.ok("POST", "/model-versions/create", { name: "racing", source: `s3://b/r${i}` });
    const results = await Promise.all(
      ["1", "2", "3", "4"].map((version) =>
        api.call("POST", "/model-versions/transition-stage", {
          name: "racing",
          version,
          stage: "Staging",
          archive_existing_versions: true,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const stages = await Promise.all(
      ["1", "2", "3", "4"].map(
        async (v) =>
          (await api.ok("GET", `/model-versions/get?name=racing&version=${v}`)).model_version.current_stage,
      ),
    );
    expect(stages.filter((s) => s === "Staging")).toHaveLength(1);
    expect(stages.filter((s) => s === "Archived")).toHaveLength(3);
  });

  it("transitions stages, archives existing versions and answers get-latest-versions", async () => {
    await api.ok("POST", "/registered-models/create", { name: "staged" });
    for (let i = 0; i < 3; i++)
      await api.ok("POST", "/model-versions/create", { name: "staged", source: `s3://b/${i}` });
    await api.ok("POST", "/model-versions/transition-stage", {
      name: "staged",
      version: "1",
      stage: "staging",
    });
    const t = await api.ok("POST", "/model-versions/transition-stage", {
      name: "staged",
      version: "2",
      stage: "Staging",
      archive_existing_versions: true,
    });
    expect(t.model_version.current_stage).toBe("Staging");
    expect(
      (await api.ok("GET", "/model-versions/get?name=staged&version=1")).model_version.current_stage,
    ).toBe("Archived");

    const latest = await api.ok("POST", "/registered-models/get-latest-versions", {
      name: "staged",
      stages: ["Staging"],
    });
    expect(latest.model_versions.map((v: { version: string }) => v.version)).toEqual(["2"]);
    const all = await api.ok("GET", "/registered-models/get?name=staged");
    expect(
      all.registered_model.latest_versions.map((v: { current_stage: string }) => v.current_stage),
    ).toEqual(["None", "Staging", "Archived"]);

    const illegal = await api.call("POST", "/model-versions/transition-stage", {
      name: "staged",
      version: "3",
      stage: "Prod",
    });
    expect(illegal.status).toBe(400);
    expect(illegal.json.message).toContain("invalid stage 'Prod'");
    expect(
      (await api.ok("GET", "/model-versions/get?name=staged&version=3")).model_version.current_stage,
    ).toBe("None");
  });

  it("sets, reads and deletes aliases; refuses an alias on a missing version", async () => {
    await api.ok("POST", "/registered-models/create", { name: "aliased" });
    await api.ok("POST", "/model-versions/create", { name: "aliased", source: "s3://b/1" });
    await api.ok("POST", "/registered-models/alias", { name: "aliased", alias: "challenger", version: "1" });
    expect((await api.ok("GET", "/model-versions/get?name=aliased&version=1")).model_version.aliases).toEqual(
      ["challenger"],
    );

    const missing = await api.call("POST", "/registered-models/alias", {
      name: "aliased",
      alias: "beta",
      version: "9",
    });
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    const reserved = await api.call("POST", "/registered-models/alias", {
      name: "aliased",
      alias: "latest",
      version: "1",
    });
    expect(reserved.status).toBe(400);
    expect((await api.ok("GET", "/registered-models/get?name=aliased")).registered_model.aliases).toEqual([
      { alias: "challenger", version: "1" },
    ]);

    await api.ok("DELETE", "/registered-models/alias", { name: "aliased", alias: "challenger" });
    const after = await api.call("GET", "/registered-models/alias?name=aliased&alias=challenger");
    expect(after.status).toBe(400);

    await api.ok("POST", "/registered-models/alias", { name: "aliased", alias: "challenger", version: "1" });
    await api.ok("DELETE", "/model-versions/delete", { name: "aliased", version: "1" });
    expect((await api.ok("GET", "/registered-models/get?name=aliased")).registered_model.aliases).toEqual([]);
    expect((await api.call("GET", "/model-versions/get?name=aliased&version=1")).status).toBe(404);
  });

  it("answers unknown models and versions with RESOURCE_DOES_NOT_EXIST", async () => {
    for (const path of [
      "/registered-models/get?name=nobody",
      "/model-versions/get?name=nobody&version=1",
      "/model-versions/get-download-uri?name=fraud&version=99",
    ]) {
      const r = await api.call("GET", path);
      expect(r.status, path).toBe(404);
      expect(r.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    }
    const badVersion = await api.call("GET", "/model-versions/get?name=fraud&version=abc");
    expect(badVersion.status).toBe(400);
  });

  it("numbers 50 concurrent creates 1..50 without gaps or duplicates", async () => {
    await api.ok("POST", "/registered-models/create", { name: "concurrent" });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api.ok("POST", "/model-versions/create", { name: "concurrent", source: `s3://b/${i}` }),
      ),
    );
    const numbers = results.map((r) => Number(r.model_version.version)).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const listed = await api.ok(
      "GET",
      `/model-versions/search?filter=${encodeURIComponent("name = 'concurrent'")}`,
    );
    expect(listed.model_versions).toHaveLength(50);
  });
});
