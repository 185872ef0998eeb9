import { contract, type RouteSpec } from "@keel/contract";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/** The response schemas of the users, permissions and backends routes describe what the server answers. */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let admin: Record<string, string>;

beforeAll(async () => {
  p = await startTestPlatform({ auth: "users" });
  admin = { authorization: `Bearer ${(await p.platform.access.users.add("root", ["admin"])).token}` };
});
afterAll(async () => {
  await p?.close();
});

async function conforms(route: RouteSpec, res: Promise<{ status: number; json: unknown }>) {
  const { status, json } = await res;
  expect(status, `${route.id}: ${JSON.stringify(json)}`).toBe(route.status ?? 200);
  const r = route.response!.safeParse(json);
  expect(r.success, `${route.id}: ${r.error?.message}`).toBe(true);
}

it("answers what the users and permissions routes declare", async () => {
  const a = contract.auth;
  const call = (method: string, path: string, body?: unknown) => p.call(method, path, body, admin);
  const M = "/api/2.0/mlflow";
  await conforms(a.createUser, call("POST", `${M}/users/create`, { username: "ines" }));
  await conforms(a.getUser, call("GET", `${M}/users/get?username=ines`));
  await conforms(
    a.updateAdmin,
    call("PATCH", `${M}/users/update-admin`, { username: "ines", is_admin: false }),
  );
  await conforms(a.addUser, call("POST", "/api/v1/users", { name: "olaf", roles: ["viewer"] }));
  await conforms(a.listUsers, call("GET", "/api/v1/users"));
  await conforms(a.rotateToken, call("POST", "/api/v1/users/olaf/rotate"));
  const exp = await call("POST", `${M}/experiments/create`, { name: "perm-shapes" });
  const grant = { experiment_id: exp.json.experiment_id, username: "ines", permission: "READ" };
  await conforms(a.createExperimentPermission, call("POST", `${M}/experiments/permissions/create`, grant));
  await conforms(
    a.getExperimentPermission,
    call("GET", `${M}/experiments/permissions/get?experiment_id=${grant.experiment_id}&username=ines`),
  );
  await conforms(
    a.updateExperimentPermission,
    call("PATCH", `${M}/experiments/permissions/update`, { ...grant, permission: "EDIT" }),
  );
  await call("POST", `${M}/registered-models/create`, { name: "perm-model" });
  const modelGrant = { name: "perm-model", username: "ines", permission: "MANAGE" };
  await conforms(
    a.createRegisteredModelPermission,
    call("POST", `${M}/registered-models/permissions/create`, modelGrant),
  );
  await conforms(
    a.getRegisteredModelPermission,
    call("GET", `${M}/registered-models/permissions/get?name=perm-model&username=ines`),
  );
  await conforms(
    a.deleteRegisteredModelPermission,
    call("DELETE", `${M}/registered-models/permissions/delete`, { name: "perm-model", username: "ines" }),
  );
  await conforms(a.deleteUser, call("DELETE", `${M}/users/delete`, { username: "ines" }));
  expect((await call("DELETE", "/api/v1/users/olaf")).status).toBe(204);
});

it("answers what the backends routes declare", async () => {
  const b = contract.backends;
  const call = (method: string, path: string, body?: unknown) => p.call(method, path, body, admin);
  const spec = { type: "kserve", url: "http://127.0.0.1:9" };
  await conforms(b.create, call("POST", "/api/v1/backends", { name: "gpu", spec }));
  await conforms(b.get, call("GET", "/api/v1/backends/gpu"));
  await conforms(b.replace, call("PUT", "/api/v1/backends/gpu", { spec, description: "Triton" }));
  await conforms(b.list, call("GET", "/api/v1/backends"));
  await conforms(b.delete, call("DELETE", "/api/v1/backends/gpu"));
  expect((await call("GET", "/api/v1/backends/gpu")).status).toBe(404);
});
