import { z } from "zod";
import { modelVersionSchema } from "./mlflow-registry";
import { defineRoute } from "./route";

/** Keel's governance API: promotion policies, four-eyes promotions, lineage and model cards. */
const tags = ["Governance"] as const;
const base = "/api/v1/models/:name";
const nameParams = z.object({ name: z.string() });
const versionParams = z.object({ name: z.string(), version: z.string() });
const idParams = z.object({ id: z.string() });
const READ = ["RESOURCE_DOES_NOT_EXIST"] as const;
const WRITE = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_DOES_NOT_EXIST",
  "PERMISSION_DENIED",
  "INVALID_STATE",
] as const;

export const policySchema = z.object({
  protected_stages: z.array(z.string()),
  protected_aliases: z.array(z.string()),
  checks: z.array(z.looseObject({})),
  updated_by: z.string().optional(),
  updated_at: z.number().optional(),
});
export const promotionSchema = z.object({
  id: z.string(),
  model: z.string(),
  version: z.string(),
  target: z.union([z.object({ stage: z.string() }), z.object({ alias: z.string() })]),
  archive_existing_versions: z.boolean(),
  status: z.enum(["PENDING", "APPROVED", "REJECTED"]),
  requester: z.string(),
  request_comment: z.string(),
  requested_at: z.number(),
  checks_at_request: z.unknown().optional(),
  reviewer: z.string().optional(),
  review_comment: z.string().optional(),
  reviewed_at: z.number().optional(),
  checks_at_approval: z.unknown().optional(),
  auto_approved: z.boolean(),
  /** Where the version's files were when the request was made. */
  source_uri: z.string().optional(),
  /** SHA-256 of every file under the source at request time (path relative to the source). */
  artifact_digests: z.record(z.string(), z.string()).optional(),
});
export type PromotionJson = z.infer<typeof promotionSchema>;

export const promotionBody = z
  .object({
    stage: z.string().min(1).optional(),
    alias: z.string().min(1).optional(),
    comment: z.string().max(10_000).default(""),
    archive_existing_versions: z.boolean().default(false),
  })
  .refine((b) => (b.stage === undefined) !== (b.alias === undefined), {
    message: "give exactly one of stage or alias",
  });
const decisionBody = z.object({ comment: z.string().max(10_000).default("") });
const cardBody = z
  .object({ intended_use: z.string().max(50_000).optional(), limitations: z.string().max(50_000).optional() })
  .refine((b) => b.intended_use !== undefined || b.limitations !== undefined, {
    message: "give intended_use and/or limitations",
  });
const promotion = z.object({ promotion: promotionSchema });
export const policyChangeSchema = z.object({
  id: z.string(),
  model: z.string(),
  status: z.enum(["PENDING", "APPROVED", "REJECTED"]),
  current: policySchema,
  proposed: policySchema,
  /** What the proposal gives up (protected stages or aliases, checks). */
  weakenings: z.array(z.unknown()),
  requester: z.string(),
  request_comment: z.string(),
  requested_at: z.number(),
  reviewer: z.string().optional(),
  review_comment: z.string().optional(),
  reviewed_at: z.number().optional(),
});
const policyChange = z.object({ policy_change: policyChangeSchema });

export const governanceRoutes = {
  getPolicy: defineRoute({
    id: "governance.getPolicy",
    method: "GET",
    path: `${base}/policy`,
    summary: "A model's promotion policy",
    tags,
    params: nameParams,
    response: z.object({ policy: policySchema }),
    errors: READ,
  }),
  setPolicy: defineRoute({
    id: "governance.setPolicy",
    method: "PUT",
    path: `${base}/policy`,
    summary:
      "Replace a model's promotion policy (admin). A stricter policy applies at once; a weaker one answers 202 with a pending change a second admin decides",
    tags,
    params: nameParams,
    body: z.record(z.string(), z.unknown()),
    response: z.union([z.object({ policy: policySchema }), policyChange]),
    errors: WRITE,
  }),
  getPolicyChange: defineRoute({
    id: "governance.getPolicyChange",
    method: "GET",
    path: "/api/v1/policy-changes/:id",
    summary: "A pending or decided policy change",
    tags,
    params: idParams,
    response: policyChange,
    errors: READ,
  }),
  approvePolicyChange: defineRoute({
    id: "governance.approvePolicyChange",
    method: "POST",
    path: "/api/v1/policy-changes/:id/approve",
    summary: "Approve a policy change (an admin other than its requester)",
    tags,
    params: idParams,
    body: decisionBody,
    response: policyChange,
    errors: WRITE,
  }),
  rejectPolicyChange: defineRoute({
    id: "governance.rejectPolicyChange",
    method: "POST",
    path: "/api/v1/policy-changes/:id/reject",
    summary: "Reject a policy change",
    tags,
    params: idParams,
    body: decisionBody,
    response: policyChange,
    errors: WRITE,
  }),
  listPromotions: defineRoute({
    id: "governance.listPromotions",
    method: "GET",
    path: `${base}/promotions`,
    summary: "A model's promotion requests",
    tags,
    params: nameParams,
    query: z.object({ status: z.enum(["PENDING", "APPROVED", "REJECTED"]).optional() }),
    response: z.object({ promotions: z.array(promotionSchema) }),
    errors: ["INVALID_PARAMETER_VALUE", ...READ],
  }),
  requestPromotion: defineRoute({
    id: "governance.requestPromotion",
    method: "POST",
    path: `${base}/versions/:version/promotions`,
    summary: "Ask for a version to move to a stage or alias (a second person approves)",
    tags,
    params: versionParams,
    body: promotionBody,
    response: promotion,
    status: 201,
    errors: WRITE,
  }),
  getPromotion: defineRoute({
    id: "governance.getPromotion",
    method: "GET",
    path: "/api/v1/promotions/:id",
    summary: "A promotion request",
    tags,
    params: idParams,
    response: promotion,
    errors: READ,
  }),
  approvePromotion: defineRoute({
    id: "governance.approvePromotion",
    method: "POST",
    path: "/api/v1/promotions/:id/approve",
    summary: "Approve a promotion (not by its requester)",
    tags,
    params: idParams,
    body: decisionBody,
    response: promotion,
    errors: WRITE,
  }),
  rejectPromotion: defineRoute({
    id: "governance.rejectPromotion",
    method: "POST",
    path: "/api/v1/promotions/:id/reject",
    summary: "Reject a promotion",
    tags,
    params: idParams,
    body: decisionBody,
    response: promotion,
    errors: WRITE,
  }),
  getLineage: defineRoute({
    id: "governance.getLineage",
    method: "GET",
    path: `${base}/versions/:version/lineage`,
    summary: "Lineage of a version: data, pipeline run, training run, approvals, deployments",
    tags,
    params: versionParams,
    response: z.object({ lineage: z.looseObject({}) }),
    errors: READ,
  }),
  getCard: defineRoute({
    id: "governance.getCard",
    method: "GET",
    path: `${base}/versions/:version/card`,
    summary: "A version's model card (Markdown or HTML)",
    tags,
    params: versionParams,
    query: z.object({ format: z.enum(["markdown", "md", "html"]).default("markdown") }),
    response: z.string(),
    responseType: "text/markdown",
    errors: ["INVALID_PARAMETER_VALUE", ...READ],
  }),
  setCard: defineRoute({
    id: "governance.setCard",
    method: "PUT",
    path: `${base}/versions/:version/card`,
    summary: "Set a version's intended use and limitations",
    tags,
    params: versionParams,
    body: cardBody,
    response: z.object({
      model_version: modelVersionSchema,
      intended_use: z.string().optional(),
      limitations: z.string().optional(),
    }),
    errors: WRITE,
  }),
};
