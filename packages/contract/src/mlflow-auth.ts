import { z } from "zod";
import { defineRoute } from "./route";

/**
 * MLflow's auth API (`/api/2.0/mlflow/users/...`, permissions on experiments and registered
 * models) and Keel's `/api/v1/users` for `keel users ... --url`. Served by `keel dev --auth`.
 */
const P = "/api/2.0/mlflow";
const tags = ["Users and permissions"] as const;
const ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_DOES_NOT_EXIST",
  "RESOURCE_ALREADY_EXISTS",
  "PERMISSION_DENIED",
] as const;
const empty = z.object({});

export const userNameSchema = z.string().min(1).max(256);
const password = z.string().min(16).max(512);

const experimentPermission = z.object({
  experiment_id: z.string(),
  user_id: z.string(),
  permission: z.string(),
});
const registeredModelPermission = z.object({ name: z.string(), user_id: z.string(), permission: z.string() });

/** A user as MLflow's auth API shows it (`is_admin` is the `admin` role). */
export const mlflowUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  is_admin: z.boolean(),
  roles: z.array(z.string()),
  experiment_permissions: z.array(experimentPermission),
  registered_model_permissions: z.array(registeredModelPermission),
});
/** A user as Keel's `/api/v1/users` shows it. */
export const keelUserSchema = z.object({
  name: z.string(),
  roles: z.array(z.string()),
  createdAt: z.number(),
});

const user = z.object({ username: userNameSchema });
const name = z.object({ name: z.string() });

/** The four permission routes of one resource type (experiments by id, registered models by name). */
function permissionRoutes<const Area extends string, Id extends z.ZodRawShape, G extends z.ZodType>(
  area: Area,
  path: string,
  id: Id,
  grant: G,
) {
  const ref = z.object({ ...id, username: userNameSchema });
  const withLevel = z.object({ ...id, username: userNameSchema, permission: z.string() });
  const base = `${P}/${path}/permissions`;
  const what = path === "experiments" ? "experiment" : "registered model";
  return {
    create: defineRoute({
      id: `auth.create${area}Permission`,
      method: "POST",
      path: `${base}/create`,
      summary: `Grant a user a permission (READ, EDIT, MANAGE) on one ${what}`,
      tags,
      body: withLevel,
      response: grant,
      errors: ERRORS,
    }),
    get: defineRoute({
      id: `auth.get${area}Permission`,
      method: "GET",
      path: `${base}/get`,
      summary: `A user's permission on one ${what}`,
      tags,
      query: ref,
      queryLabel: "request",
      response: grant,
      errors: ["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"],
    }),
    update: defineRoute({
      id: `auth.update${area}Permission`,
      method: "PATCH",
      path: `${base}/update`,
      summary: `Change a user's permission on one ${what}`,
      tags,
      body: withLevel,
      response: grant,
      errors: ERRORS,
    }),
    delete: defineRoute({
      id: `auth.delete${area}Permission`,
      method: "DELETE",
      path: `${base}/delete`,
      summary: `Remove a user's permission on one ${what}`,
      tags,
      body: ref,
      response: empty,
      errors: ERRORS,
    }),
  };
}

const experimentPermissions = permissionRoutes(
  "Experiment",
  "experiments",
  { experiment_id: z.coerce.string().min(1) },
  z.object({ experiment_permission: experimentPermission }),
);
const modelPermissions = permissionRoutes(
  "RegisteredModel",
  "registered-models",
  { name: z.coerce.string().min(1) },
  z.object({ registered_model_permission: registeredModelPermission }),
);

export const authRoutes = {
  createUser: defineRoute({
    id: "auth.createUser",
    method: "POST",
    path: `${P}/users/create`,
    summary: "Create a user (a generated token is answered once; a chosen password never is)",
    tags,
    body: z.object({
      username: userNameSchema,
      password: password.optional(),
      roles: z.union([z.string(), z.array(z.string())]).optional(),
    }),
    response: z.object({ user: mlflowUserSchema, token: z.string().optional() }),
    errors: ERRORS,
  }),
  getUser: defineRoute({
    id: "auth.getUser",
    method: "GET",
    path: `${P}/users/get`,
    summary: "A user with their permissions (admins: anyone; others: themselves)",
    tags,
    query: user,
    queryLabel: "request",
    response: z.object({ user: mlflowUserSchema }),
    errors: ["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"],
  }),
  updatePassword: defineRoute({
    id: "auth.updatePassword",
    method: "PATCH",
    path: `${P}/users/update-password`,
    summary: "Change a user's password (admins: anyone; others: themselves)",
    tags,
    body: user.extend({ password }),
    response: empty,
    errors: ERRORS,
  }),
  updateAdmin: defineRoute({
    id: "auth.updateAdmin",
    method: "PATCH",
    path: `${P}/users/update-admin`,
    summary: "Give or take a user's admin role",
    tags,
    body: user.extend({ is_admin: z.boolean() }),
    response: empty,
    errors: ERRORS,
  }),
  deleteUser: defineRoute({
    id: "auth.deleteUser",
    method: "DELETE",
    path: `${P}/users/delete`,
    summary: "Delete a user",
    tags,
    body: user,
    response: empty,
    errors: ERRORS,
  }),
  listUsers: defineRoute({
    id: "auth.listUsers",
    method: "GET",
    path: "/api/v1/users",
    summary: "Every user with their roles",
    tags,
    response: z.object({ users: z.array(keelUserSchema) }),
    errors: ["PERMISSION_DENIED"],
  }),
  addUser: defineRoute({
    id: "auth.addUser",
    method: "POST",
    path: "/api/v1/users",
    summary: "Add a user with roles; answers their API token once",
    tags,
    body: z.object({ name: userNameSchema, roles: z.array(z.string()).min(1) }),
    response: z.object({ user: keelUserSchema, token: z.string() }),
    status: 201,
    errors: ERRORS,
  }),
  removeUser: defineRoute({
    id: "auth.removeUser",
    method: "DELETE",
    path: "/api/v1/users/:name",
    summary: "Remove a user",
    tags,
    params: name,
    status: 204,
    errors: ["RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"],
  }),
  rotateToken: defineRoute({
    id: "auth.rotateToken",
    method: "POST",
    path: "/api/v1/users/:name/rotate",
    summary: "Give a user a new API token (the old one stops working); answers it once",
    tags,
    params: name,
    response: z.object({ token: z.string() }),
    errors: ["RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"],
  }),
  createExperimentPermission: experimentPermissions.create,
  getExperimentPermission: experimentPermissions.get,
  updateExperimentPermission: experimentPermissions.update,
  deleteExperimentPermission: experimentPermissions.delete,
  createRegisteredModelPermission: modelPermissions.create,
  getRegisteredModelPermission: modelPermissions.get,
  updateRegisteredModelPermission: modelPermissions.update,
  deleteRegisteredModelPermission: modelPermissions.delete,
};
