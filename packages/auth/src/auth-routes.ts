import { currentContext, hasRole, jsonBody, KeelError, parseWith, queryObject } from "@keel/core";
import type { Context, Hono } from "hono";
import { z } from "zod";
import {
  parseLevel,
  type ResourceGrant,
  type ResourcePermissions,
  type ResourceType,
} from "./resource-permissions";
import { parseRoles, type User, type UsersStore } from "./users-store";

const T = "/api/2.0/mlflow";

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

const nameField = z.string().min(1).max(256);
const createUser = z.object({
  username: nameField,
  password: z.string().min(16).max(512).optional(),
  roles: z.union([z.string(), z.array(z.string())]).optional(),
});

/**
 * The users API (MLflow's `/api/2.0/mlflow/users/...`, Keel's `/api/v1/users` for the CLI)
 * and MLflow's permission endpoints for experiments and registered models.
 */
export function mountAuthRoutes(app: Hono, users: UsersStore, resources: ResourcePermissions): void {
  // MLflow: users
  app.post(`${T}/users/create`, async (c) => {
    const body = await jsonBody(c, createUser);
    const { user, token } = await users.add(body.username, parseRoles(body.roles ?? "viewer"), {
      password: body.password,
    });
    // A generated token is shown once, here; a chosen password is never echoed.
    return c.json({ user: await mlflowUser(user, resources), ...(body.password ? {} : { token }) });
  });
  app.get(`${T}/users/get`, async (c) => {
    const { username } = parseWith(z.object({ username: nameField }), queryObject(c));
    const user = await users.require(username);
    requireSelfOrAdmin(user.name, "read the user");
    return c.json({ user: await mlflowUser(user, resources) });
  });
  app.patch(`${T}/users/update-password`, async (c) => {
    const body = await jsonBody(c, z.object({ username: nameField, password: z.string().min(16).max(512) }));
    requireSelfOrAdmin((await users.require(body.username)).name, "change the password");
    await users.rotate(body.username, { password: body.password });
    return c.json({});
  });
  app.patch(`${T}/users/update-admin`, async (c) => {
    const body = await jsonBody(c, z.object({ username: nameField, is_admin: z.boolean() }));
    const user = await users.require(body.username);
    const others = user.roles.filter((r) => r !== "admin");
    await users.setRoles(user.name, body.is_admin ? [...others, "admin"] : others);
    return c.json({});
  });
  app.delete(`${T}/users/delete`, async (c) => {
    const body = await jsonBody(c, z.object({ username: nameField }));
    await users.remove(body.username);
    return c.json({});
  });

  // Keel: users for `keel users ... --url`
  app.get("/api/v1/users", async (c) => c.json({ users: await users.list() }));
  app.post("/api/v1/users", async (c) => {
    const body = await jsonBody(c, z.object({ name: nameField, roles: z.array(z.string()).min(1) }));
    return c.json(await users.add(body.name, parseRoles(body.roles)), 201);
  });
  app.delete("/api/v1/users/:name", async (c) => {
    await users.remove(c.req.param("name"));
    return c.body(null, 204);
  });
  app.post("/api/v1/users/:name/rotate", async (c) =>
    c.json({ token: await users.rotate(c.req.param("name")) }),
  );

  // MLflow: permissions on experiments and registered models
  const resourceRoutes = (path: string, type: ResourceType, idField: "experiment_id" | "name") => {
    const ref = z.object({ [idField]: z.coerce.string().min(1), username: nameField });
    const withLevel = ref.extend({ permission: z.string() });
    const idOf = (v: Record<string, unknown>) => String(v[idField]);
    const put = (mode: "create" | "update") => async (c: Context) => {
      const body = await jsonBody(c, withLevel);
      await users.require(body.username);
      const grant = {
        type,
        id: idOf(body),
        username: body.username,
        permission: parseLevel(body.permission),
      };
      return c.json(grantJson(await resources.put(grant, mode)));
    };
    app.post(`${T}/${path}/permissions/create`, put("create"));
    app.get(`${T}/${path}/permissions/get`, async (c) => {
      const q = parseWith(ref, queryObject(c));
      return c.json(grantJson(await resources.get(type, idOf(q), q.username)));
    });
    app.patch(`${T}/${path}/permissions/update`, put("update"));
    app.delete(`${T}/${path}/permissions/delete`, async (c) => {
      const body = await jsonBody(c, ref);
      await resources.remove(type, idOf(body), body.username);
      return c.json({});
    });
  };
  resourceRoutes("experiments", "experiment", "experiment_id");
  resourceRoutes("registered-models", "registered_model", "name");
}
