import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { basic, bearer, type TestPlatform } from "./fixtures";

let p: TestPlatform;
const tokens: Record<string, string> = {};
const M = "/api/2.0/mlflow";

beforeAll(async () => {
  p = await startTestPlatform({ auth: "users" });
  const users = p.platform.access.users;
  for (const [name, roles] of [
    ["root", ["admin"]],
    ["vera", ["viewer"]],
    ["dana", ["data-scientist"]],
    ["dirk", ["data-scientist"]],
    ["aud", ["auditor"]],
  ] as const)
    tokens[name] = (await users.add(name, [...roles])).token;
});
afterAll(async () => {
  await p?.close();
});

const as = (name: string) => bearer(tokens[name]);

describe("keel dev --auth: who is calling", () => {
  it("answers 401 UNAUTHENTICATED without credentials or with a wrong token, but serves health", async () => {
    const none = await p.call("GET", `${M}/experiments/search?max_results=1`);
    expect(none.status).toBe(401);
    expect(none.json.error_code).toBe("UNAUTHENTICATED");
    const header = await p.call("GET", `${M}/experiments/search?max_results=1`, undefined, {
      "x-keel-principal": "root",
    });
    expect(header.status).toBe(401);
    const wrong = await p.call(
      "GET",
      `${M}/experiments/search?max_results=1`,
      undefined,
      bearer(`${tokens.vera}x`),
    );
    expect(wrong.status).toBe(401);
    const stolenName = await p.call(
      "GET",
      `${M}/experiments/search?max_results=1`,
      undefined,
      basic("root", tokens.vera),
    );
    expect(stolenName.status).toBe(401);
    expect((await p.call("GET", "/health")).status).toBe(200);
  });

  it("accepts Bearer <token> and Basic <name>:<token> (MLflow's env variables), ignoring x-keel-principal", async () => {
    expect((await p.call("GET", `${M}/experiments/search?max_results=1`, undefined, as("vera"))).status).toBe(
      200,
    );
    const viaBasic = await p.call(
      "POST",
      `${M}/experiments/create`,
      { name: "dana-exp" },
      {
        ...basic("DANA", tokens.dana),
        "x-keel-principal": "root",
      },
    );
    expect(viaBasic.status).toBe(200);
    const events = await p.call(
      "GET",
      "/api/v1/audit?action=tracking.experiment.create",
      undefined,
      as("aud"),
    );
    expect(events.json.events.at(-1).principal).toBe("dana");
  });

  it("refuses with 403 PERMISSION_DENIED naming the missing permission, and audits access.denied", async () => {
    const r = await p.call("POST", `${M}/experiments/create`, { name: "vera-exp" }, as("vera"));
    expect(r.status).toBe(403);
    expect(r.json.error_code).toBe("PERMISSION_DENIED");
    expect(r.json.message).toContain("permission 'write' is required");
    expect((await p.call("GET", "/api/v1/audit", undefined, as("dana"))).status).toBe(403);
    const denied = await p.call("GET", "/api/v1/audit?action=access.denied", undefined, as("aud"));
    expect(denied.status).toBe(200);
    expect(denied.json.events.map((e: { principal: string }) => e.principal)).toEqual(
      expect.arrayContaining(["vera", "dana"]),
    );
  });

  it("rotates and removes tokens at once", async () => {
    const users = p.platform.access.users;
    const { token } = await users.add("tmp", ["viewer"]);
    expect((await p.call("GET", `${M}/experiments/search`, undefined, bearer(token))).status).toBe(200);
    const rotated = await users.rotate("tmp");
    expect((await p.call("GET", `${M}/experiments/search`, undefined, bearer(token))).status).toBe(401);
    expect((await p.call("GET", `${M}/experiments/search`, undefined, bearer(rotated))).status).toBe(200);
    await users.remove("tmp");
    expect((await p.call("GET", `${M}/experiments/search`, undefined, bearer(rotated))).status).toBe(401);
  });
});

describe("team scoping (MLflow's permissions API)", () => {
  it("gives the creator MANAGE, others READ, and lets the owner grant EDIT", async () => {
    const { experiment_id } = (
      await p.call("POST", `${M}/experiments/create`, { name: "team-a" }, as("dana"))
    ).json;
    const own = await p.call("POST", `${M}/runs/create`, { experiment_id }, as("dana"));
    expect(own.status).toBe(200);
    const other = await p.call("POST", `${M}/runs/create`, { experiment_id }, as("dirk"));
    expect(other.status).toBe(403);
    expect(other.json.message).toContain(`permission EDIT on experiment '${experiment_id}'`);
    const runId = own.json.run.info.run_id;
    expect((await p.call("GET", `${M}/runs/get?run_id=${runId}`, undefined, as("dirk"))).status).toBe(200);
    const log = await p.call(
      "POST",
      `${M}/runs/log-metric`,
      { run_id: runId, key: "auc", value: 0.99, timestamp: 1 },
      as("dirk"),
    );
    expect(log.status).toBe(403);

    // Only MANAGE may grant.
    const selfGrant = await p.call(
      "POST",
      `${M}/experiments/permissions/create`,
      { experiment_id, username: "dirk", permission: "EDIT" },
      as("dirk"),
    );
    expect(selfGrant.status).toBe(403);
    const grant = await p.call(
      "POST",
      `${M}/experiments/permissions/create`,
      { experiment_id, username: "dirk", permission: "EDIT" },
      as("dana"),
    );
    expect(grant.status).toBe(200);
    expect(grant.json).toEqual({
      experiment_permission: { experiment_id, user_id: "dirk", permission: "EDIT" },
    });
    const got = await p.call(
      "GET",
      `${M}/experiments/permissions/get?experiment_id=${experiment_id}&username=dirk`,
      undefined,
      as("dana"),
    );
    expect(got.json.experiment_permission.permission).toBe("EDIT");
    expect((await p.call("POST", `${M}/runs/create`, { experiment_id }, as("dirk"))).status).toBe(200);

    const revoke = await p.call(
      "DELETE",
      `${M}/experiments/permissions/delete`,
      { experiment_id, username: "dirk" },
      as("dana"),
    );
    expect(revoke.status).toBe(200);
    expect((await p.call("POST", `${M}/runs/create`, { experiment_id }, as("dirk"))).status).toBe(403);
    // Artifacts under the experiment's prefix are scoped the same way.
    const file = `/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${runId}/artifacts/notes.txt`;
    const put = (who: string) =>
      fetch(`${p.url}${file}`, { method: "PUT", headers: as(who), body: "hello" }).then((r) => r.status);
    expect(await put("dirk")).toBe(403);
    expect(await put("dana")).toBe(200);
    expect((await p.call("GET", file, undefined, as("dirk"))).text).toBe("hello");
    // NO_PERMISSIONS hides the experiment from searches and refuses reads.
    await p.call(
      "POST",
      `${M}/experiments/permissions/create`,
      { experiment_id, username: "vera", permission: "NO_PERMISSIONS" },
      as("dana"),
    );
    const names = async (who: string) =>
      (await p.call("POST", `${M}/experiments/search`, { max_results: 1000 }, as(who))).json.experiments.map(
        (e: { name: string }) => e.name,
      );
    expect(await names("vera")).not.toContain("team-a");
    expect(await names("dirk")).toContain("team-a");
    expect(
      (await p.call("GET", `${M}/experiments/get?experiment_id=${experiment_id}`, undefined, as("vera")))
        .status,
    ).toBe(403);
    const byName = (who: string) =>
      p.call("GET", `${M}/experiments/get-by-name?experiment_name=team-a`, undefined, as(who));
    expect((await byName("vera")).status).toBe(403);
    expect((await byName("dirk")).status).toBe(200);
    // Admins bypass team scoping.
    expect((await p.call("POST", `${M}/runs/create`, { experiment_id }, as("root"))).status).toBe(200);
  });

  it("scopes registered models the same way", async () => {
    expect(
      (await p.call("POST", `${M}/registered-models/create`, { name: "team-model" }, as("dana"))).status,
    ).toBe(200);
    const tag = { name: "team-model", key: "k", value: "v" };
    expect((await p.call("POST", `${M}/registered-models/set-tag`, tag, as("dirk"))).status).toBe(403);
    const grant = await p.call(
      "POST",
      `${M}/registered-models/permissions/create`,
      { name: "team-model", username: "dirk", permission: "EDIT" },
      as("dana"),
    );
    expect(grant.json).toEqual({
      registered_model_permission: { name: "team-model", user_id: "dirk", permission: "EDIT" },
    });
    expect((await p.call("POST", `${M}/registered-models/set-tag`, tag, as("dirk"))).status).toBe(200);
    const update = await p.call(
      "PATCH",
      `${M}/registered-models/permissions/update`,
      { name: "team-model", username: "dirk", permission: "READ" },
      as("dana"),
    );
    expect(update.status).toBe(200);
    expect((await p.call("POST", `${M}/registered-models/set-tag`, tag, as("dirk"))).status).toBe(403);
    expect(
      (await p.call("DELETE", `${M}/registered-models/delete`, { name: "team-model" }, as("dirk"))).status,
    ).toBe(403);
  });
});

describe("MLflow's users API", () => {
  it("creates, reads, promotes to admin and deletes users (admin only)", async () => {
    const byDana = await p.call(
      "POST",
      `${M}/users/create`,
      { username: "eve", password: "a-long-password-123" },
      as("dana"),
    );
    expect(byDana.status).toBe(403);
    const created = await p.call(
      "POST",
      `${M}/users/create`,
      { username: "Eve", password: "a-long-password-123" },
      as("root"),
    );
    expect(created.status).toBe(200);
    expect(created.json.user).toMatchObject({ username: "eve", is_admin: false, experiment_permissions: [] });
    expect(created.json.token).toBeUndefined();
    const self = await p.call(
      "GET",
      `${M}/users/get?username=eve`,
      undefined,
      basic("eve", "a-long-password-123"),
    );
    expect(self.status).toBe(200);
    expect(
      (await p.call("GET", `${M}/users/get?username=dana`, undefined, basic("eve", "a-long-password-123")))
        .status,
    ).toBe(403);
    const admin = await p.call(
      "PATCH",
      `${M}/users/update-admin`,
      { username: "eve", is_admin: true },
      as("root"),
    );
    expect(admin.status).toBe(200);
    expect(
      (await p.call("GET", `${M}/users/get?username=dana`, undefined, basic("eve", "a-long-password-123")))
        .json.user.username,
    ).toBe("dana");
    expect((await p.call("DELETE", `${M}/users/delete`, { username: "eve" }, as("root"))).status).toBe(200);
    expect(
      (await p.call("GET", `${M}/experiments/search`, undefined, basic("eve", "a-long-password-123"))).status,
    ).toBe(401);
  });
});
