import { z } from "zod";
import {
  createDeploymentSchema,
  deploymentSettingsSchema,
  shadowSchema,
  shiftSchema,
  versionRefSchema,
} from "./deployment-schemas";
import { routerRequestSchema } from "./kserve-protocol";
import { defineRoute } from "./route";

/** Keel's deployment API: stable/canary/shadow rollouts, canary analysis and async scoring. */
const tags = ["Deployments"] as const;
const name = z.object({ name: z.string() });
const ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_DOES_NOT_EXIST",
  "RESOURCE_ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "ABORTED",
] as const;

export const deploymentSchema = deploymentSettingsSchema.extend({
  name: z.string(),
  stable: versionRefSchema,
  canary: versionRefSchema.extend({ weight: z.number() }).optional(),
  shadow: versionRefSchema.optional(),
  revision: z.number(),
  epoch: z.number(),
  created_at: z.number(),
  updated_at: z.number(),
  history: z.array(
    z.object({ time: z.number(), principal: z.string(), action: z.string(), detail: z.string() }),
  ),
});
export type DeploymentJson = z.infer<typeof deploymentSchema>;
const analysisAnswer = z.looseObject({ decision: z.string().optional() });
const reason = z.object({ reason: z.string().max(500).optional() });
const scoringJob = z.looseObject({ id: z.string(), status: z.string() });

export const deploymentRoutes = {
  list: defineRoute({
    id: "deployments.list",
    method: "GET",
    path: "/api/v1/deployments",
    summary: "Every deployment",
    tags,
    response: z.object({ deployments: z.array(deploymentSchema) }),
    errors: [],
  }),
  create: defineRoute({
    id: "deployments.create",
    method: "POST",
    path: "/api/v1/deployments",
    summary: "Deploy a model version",
    tags,
    body: createDeploymentSchema,
    response: deploymentSchema,
    status: 201,
    errors: ERRORS,
  }),
  get: defineRoute({
    id: "deployments.get",
    method: "GET",
    path: "/api/v1/deployments/:name",
    summary: "A deployment with its canary analysis status",
    tags,
    params: name,
    response: deploymentSchema.extend({ analysis_status: analysisAnswer }),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  update: defineRoute({
    id: "deployments.update",
    method: "PATCH",
    path: "/api/v1/deployments/:name",
    summary: "Change some settings (the others keep their values)",
    tags,
    params: name,
    // The service validates the patch itself: parsing here would fill in defaults for every unnamed setting.
    body: z.record(z.string(), z.unknown()).describe("a partial deployment settings object"),
    response: deploymentSchema,
    errors: ERRORS,
  }),
  delete: defineRoute({
    id: "deployments.delete",
    method: "DELETE",
    path: "/api/v1/deployments/:name",
    summary: "Delete a deployment",
    tags,
    params: name,
    response: z.object({}),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  shift: defineRoute({
    id: "deployments.shift",
    method: "POST",
    path: "/api/v1/deployments/:name/shift",
    summary: "Send a share of traffic to a canary version",
    tags,
    params: name,
    body: shiftSchema,
    response: deploymentSchema,
    errors: ERRORS,
  }),
  setShadow: defineRoute({
    id: "deployments.setShadow",
    method: "PUT",
    path: "/api/v1/deployments/:name/shadow",
    summary: "Mirror traffic to a shadow version",
    tags,
    params: name,
    body: shadowSchema,
    response: deploymentSchema,
    errors: ERRORS,
  }),
  clearShadow: defineRoute({
    id: "deployments.clearShadow",
    method: "DELETE",
    path: "/api/v1/deployments/:name/shadow",
    summary: "Stop mirroring traffic",
    tags,
    params: name,
    response: deploymentSchema,
    errors: ERRORS,
  }),
  promote: defineRoute({
    id: "deployments.promote",
    method: "POST",
    path: "/api/v1/deployments/:name/promote",
    summary: "Make the canary the stable version",
    tags,
    params: name,
    body: reason,
    response: deploymentSchema,
    errors: ERRORS,
  }),
  rollback: defineRoute({
    id: "deployments.rollback",
    method: "POST",
    path: "/api/v1/deployments/:name/rollback",
    summary: "Send all traffic back to the stable version",
    tags,
    params: name,
    body: reason,
    response: deploymentSchema,
    errors: ERRORS,
  }),
  analyze: defineRoute({
    id: "deployments.analyze",
    method: "POST",
    path: "/api/v1/deployments/:name/analyze",
    summary: "Compare canary with stable now and apply the decision",
    tags,
    params: name,
    response: analysisAnswer,
    errors: ERRORS,
  }),
  inferAsync: defineRoute({
    id: "deployments.inferAsync",
    method: "POST",
    path: "/api/v1/deployments/:name/infer-async",
    summary: "Queue an inference request; poll /api/v1/scoring/{id} for its result",
    tags,
    params: name,
    body: routerRequestSchema,
    rawBody: true,
    response: scoringJob,
    status: 202,
    errors: [...ERRORS, "PAYLOAD_TOO_LARGE"],
  }),
  scoringResult: defineRoute({
    id: "deployments.scoringResult",
    method: "GET",
    path: "/api/v1/scoring/:id",
    summary: "An async scoring job and, once done, its result",
    tags,
    params: z.object({ id: z.string() }),
    response: scoringJob,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
};
