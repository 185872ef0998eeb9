import { z } from "zod";
import { remoteBackendSpecSchema } from "./deployment-schemas";
import { defineRoute } from "./route";

/** Serving backends an admin registers by name (`/api/v1/backends`); writes are admin only, audited. */
const tags = ["Deployments"] as const;
const name = z.object({ name: z.string() });
const WRITE_ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_DOES_NOT_EXIST",
  "RESOURCE_ALREADY_EXISTS",
  "PERMISSION_DENIED",
] as const;

export const registeredBackendSchema = z.object({
  name: z.string(),
  spec: remoteBackendSpecSchema,
  description: z.string(),
  registered_by: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type RegisteredBackendJson = z.infer<typeof registeredBackendSchema>;

// The service validates a backend itself (its messages name the "backend"), so the body stays raw here.
const backendBody = z
  .record(z.string(), z.unknown())
  .describe("a backend: {name, spec: {type: 'kserve', url} | {type: 'sagemaker', endpoint}, description}");

export const backendRoutes = {
  list: defineRoute({
    id: "backends.list",
    method: "GET",
    path: "/api/v1/backends",
    summary: "Every registered serving backend",
    tags,
    response: z.object({ backends: z.array(registeredBackendSchema) }),
    errors: [],
  }),
  create: defineRoute({
    id: "backends.create",
    method: "POST",
    path: "/api/v1/backends",
    summary: "Register a serving backend by name (admin)",
    tags,
    body: backendBody,
    response: registeredBackendSchema,
    status: 201,
    errors: WRITE_ERRORS,
  }),
  get: defineRoute({
    id: "backends.get",
    method: "GET",
    path: "/api/v1/backends/:name",
    summary: "A registered serving backend",
    tags,
    params: name,
    response: registeredBackendSchema,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  replace: defineRoute({
    id: "backends.replace",
    method: "PUT",
    path: "/api/v1/backends/:name",
    summary: "Replace a registered serving backend (admin)",
    tags,
    params: name,
    body: backendBody,
    response: registeredBackendSchema,
    errors: WRITE_ERRORS,
  }),
  delete: defineRoute({
    id: "backends.delete",
    method: "DELETE",
    path: "/api/v1/backends/:name",
    summary: "Remove a serving backend no deployment uses (admin)",
    tags,
    params: name,
    response: z.object({}),
    errors: ["RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED", "INVALID_STATE"],
  }),
};
