import { contract, mount } from "@keel/contract";
import { currentContext, hasRole, KeelError } from "@keel/core";
import type { Hono } from "hono";
import {
  parseLevel,
  type ResourceGrant,
  type ResourcePermissions,
  type ResourceType,
} from "./resource-permissions";
import { parseRoles, type User, type UsersStore } from "./users-store";

/** A user as MLflow's auth API shows it (`is_admin` is the `admin` role). */
async function mlflowUser(user: User, resources: ResourcePermissions) {
  const grants = await resources.forUser(user.name);
  return {
    id: user.name,
    username: user.name,
    is_admin: user.roles.includes("admin"),
    roles: user.roles,
    experiment_permissions: grants
      .filter((g) => g.type === "experiment")
      .map((g) => ({ experiment_id: g.id, user_id: user.name, permission: g.permission })),
    registered_model_permissions: grants
      .filter((g) => g.type === "registered_model")
      .map((g) => ({ name: g.id, user_id: user.name, permission: g.permission })),
  };
}

const grantJson = (g: ResourceGrant) =>
  g.type === "experiment"
    ? { experiment_permission: { experiment_id: g.id, user_id: g.username, permission: g.permission } }
    : { registered_model_permission: { name: g.id, user_id: g.username, permission: g.permission } };

/** Admins act on anyone; others only on themselves. */
function requireSelfOrAdmin(username: string, action: string): void {
  const { principal } = currentContext();
  if (hasRole("admin") || principal === username) return;
  throw new KeelError(
    "PERMISSION_DENIED",
    `${principal} may not ${action} of ${username}: permission 'admin' is required`,
  );
}

/**
 * The users API (MLflow's `/api/2.0/mlflow/users/...`, Keel's `/api/v1/users` for the CLI)
 * and MLflow's permission endpoints for experiments and registered models.
 */
export function mountAuthRoutes(app: Hono, users: UsersStore, resources: ResourcePermissions): void {
  const r = contract.auth;
  // MLflow: users
  mount(app, r.createUser, async ({ body }) => {
    const { user, token } = await users.add(body.username, parseRoles(body.roles ?? "viewer"), {
      password: body.password,
    });
    // A generated token is shown once, here; a chosen password is never echoed.
    return { user: await mlflowUser(user, resources), ...(body.password ? {} : { token }) };
  });
  mount(app, r.getUser, async ({ query }) => {
    const user = await users.require(query.username);
    requireSelfOrAdmin(user.name, "read the user");
    return { user: await mlflowUser(user, resources) };
  });
  mount(app, r.updatePassword, async ({ body }) => {
    requireSelfOrAdmin((await users.require(body.username)).name, "change the password");
    await users.rotate(body.username, { password: body.password });
  });
  mount(app, r.updateAdmin, async ({ body }) => {
    const user = await users.require(body.username);
    const others = user.roles.filter((r) => r !== "admin");
    await users.setRoles(user.name, body.is_admin ? [...others, "admin"] : others);
  });
  mount(app, r.deleteUser, async ({ body }) => {
    await users.remove(body.username);
  });

  // Keel: users for `keel users ... --url`
  mount(app, r.listUsers, async () => ({ users: await users.list() }));
  mount(app, r.addUser, async ({ body }) => users.add(body.name, parseRoles(body.roles)));
  mount(app, r.removeUser, async ({ params }, c) => {
    await users.remove(params.name);
    return c.body(null, 204);
  });
  mount(app, r.rotateToken, async ({ params }) => ({ token: await users.rotate(params.name) }));

  // MLflow: permissions on experiments and registered models
  type Level = { username: string; permission: string };
  const put = async (type: ResourceType, id: string, body: Level, mode: "create" | "update") => {
    await users.require(body.username);
    const grant = { type, id, username: body.username, permission: parseLevel(body.permission) };
    return grantJson(await resources.put(grant, mode));
  };
  mount(app, r.createExperimentPermission, async ({ body }) =>
    put("experiment", body.experiment_id, body, "create"),
  );
  mount(app, r.getExperimentPermission, async ({ query }) =>
    grantJson(await resources.get("experiment", query.experiment_id, query.username)),
  );
  mount(app, r.updateExperimentPermission, async ({ body }) =>
    put("experiment", body.experiment_id, body, "update"),
  );
  mount(app, r.deleteExperimentPermission, async ({ body }) => {
    await resources.remove("experiment", body.experiment_id, body.username);
  });
  mount(app, r.createRegisteredModelPermission, async ({ body }) =>
    put("registered_model", body.name, body, "create"),
  );
  mount(app, r.getRegisteredModelPermission, async ({ query }) =>
    grantJson(await resources.get("registered_model", query.name, query.username)),
  );
  mount(app, r.updateRegisteredModelPermission, async ({ body }) =>
    put("registered_model", body.name, body, "update"),
  );
  mount(app, r.deleteRegisteredModelPermission, async ({ body }) => {
    await resources.remove("registered_model", body.name, body.username);
  });
}
