import { jsonBody, parseWith, queryObject } from "@keel/core";
import type { Hono } from "hono";
import { z } from "zod";
import { registryErrors } from "./errors";
import type { PromotionRecord } from "./governance";
import { modelVersionJson } from "./mlflow-json";
import type { Policy } from "./policy";
import type { PolicyChangeRecord } from "./policy-changes";
import type { ProvenanceService } from "./provenance-service";
import { parseStage, type Target } from "./records";
import type { RegistryService } from "./registry-service";

const promotionBody = z
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
const cardQuery = z.object({ format: z.enum(["markdown", "md", "html"]).default("markdown") });
const listQuery = z.object({ status: z.enum(["PENDING", "APPROVED", "REJECTED"]).optional() });

export function promotionJson(p: PromotionRecord) {
  return {
    id: p.id,
    model: p.modelName,
    version: String(p.version),
    target: p.target.kind === "stage" ? { stage: p.target.stage } : { alias: p.target.alias },
    archive_existing_versions: p.archiveExistingVersions,
    status: p.status,
    requester: p.requester,
    request_comment: p.requestComment,
    requested_at: p.requestedAt,
    checks_at_request: p.checksAtRequest,
    reviewer: p.reviewer,
    review_comment: p.reviewComment,
    reviewed_at: p.reviewedAt,
    checks_at_approval: p.checksAtApproval,
    auto_approved: p.autoApproved ?? false,
    source_uri: p.sourceUri,
    artifact_digests: p.artifactDigests,
  };
}

export function policyJson(p: Policy) {
  return {
    protected_stages: p.protectedStages,
    protected_aliases: p.protectedAliases,
    checks: p.checks,
    updated_by: p.updatedBy,
    updated_at: p.updatedAt,
  };
}

export function policyChangeJson(p: PolicyChangeRecord) {
  return {
    id: p.id,
    model: p.modelName,
    status: p.status,
    current: policyJson(p.current),
    proposed: policyJson(p.proposed),
    weakenings: p.weakenings,
    requester: p.requester,
    request_comment: p.requestComment,
    requested_at: p.requestedAt,
    reviewer: p.reviewer,
    review_comment: p.reviewComment,
    reviewed_at: p.reviewedAt,
  };
}

/** Keel's governance API: policies, promotion requests and decisions, lineage and model cards. */
export function mountGovernanceRoutes(app: Hono, svc: RegistryService, provenance: ProvenanceService): void {
  const base = "/api/v1/models/:name";
  app.get(`${base}/policy`, async (c) =>
    c.json({ policy: policyJson(await svc.getPolicy(c.req.param("name"))) }),
  );
  app.put(`${base}/policy`, async (c) => {
    const { comment, ...body } = await jsonBody(c, z.record(z.string(), z.unknown()));
    const out = await svc.setPolicy(c.req.param("name"), body, typeof comment === "string" ? comment : "");
    // A weakening is not applied: it waits for a second admin (202 with the pending change).
    return "change" in out
      ? c.json({ policy_change: policyChangeJson(out.change) }, 202)
      : c.json({ policy: policyJson(out.policy) });
  });
  app.get("/api/v1/policy-changes/:id", async (c) =>
    c.json({ policy_change: policyChangeJson(await svc.getPolicyChange(c.req.param("id"))) }),
  );
  app.post("/api/v1/policy-changes/:id/approve", async (c) => {
    const b = await jsonBody(c, decisionBody);
    return c.json({
      policy_change: policyChangeJson(await svc.approvePolicyChange(c.req.param("id"), b.comment)),
    });
  });
  app.post("/api/v1/policy-changes/:id/reject", async (c) => {
    const b = await jsonBody(c, decisionBody);
    return c.json({
      policy_change: policyChangeJson(await svc.rejectPolicyChange(c.req.param("id"), b.comment)),
    });
  });
  app.get(`${base}/promotions`, async (c) => {
    const q = parseWith(listQuery, queryObject(c), "query");
    return c.json({
      promotions: (await svc.listPromotions(c.req.param("name"), q.status)).map(promotionJson),
    });
  });
  app.post(`${base}/versions/:version/promotions`, async (c) => {
    const b = await jsonBody(c, promotionBody);
    const target: Target =
      b.stage !== undefined
        ? { kind: "stage", stage: parseStage(b.stage) }
        : { kind: "alias", alias: b.alias! };
    if (target.kind === "stage" && target.stage === "None") {
      throw registryErrors.invalid("a promotion must target a stage other than None");
    }
    const p = await svc.requestPromotion(
      c.req.param("name"),
      c.req.param("version"),
      target,
      b.comment,
      b.archive_existing_versions,
    );
    return c.json({ promotion: promotionJson(p) }, 201);
  });
  app.get("/api/v1/promotions/:id", async (c) =>
    c.json({ promotion: promotionJson(await svc.governance.getRequest(c.req.param("id"))) }),
  );
  app.post("/api/v1/promotions/:id/approve", async (c) => {
    const b = await jsonBody(c, decisionBody);
    return c.json({ promotion: promotionJson(await svc.approvePromotion(c.req.param("id"), b.comment)) });
  });
  app.post("/api/v1/promotions/:id/reject", async (c) => {
    const b = await jsonBody(c, decisionBody);
    return c.json({ promotion: promotionJson(await svc.rejectPromotion(c.req.param("id"), b.comment)) });
  });
  app.get(`${base}/versions/:version/lineage`, async (c) =>
    c.json({ lineage: await provenance.lineage(c.req.param("name"), c.req.param("version")) }),
  );
  app.get(`${base}/versions/:version/card`, async (c) => {
    const { format } = parseWith(cardQuery, queryObject(c), "query");
    const html = format === "html";
    const text = await provenance.card(
      c.req.param("name"),
      c.req.param("version"),
      html ? "html" : "markdown",
    );
    return c.body(text, 200, {
      "content-type": html ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8",
    });
  });
  app.put(`${base}/versions/:version/card`, async (c) => {
    const b = await jsonBody(c, cardBody);
    const v = await svc.setCardText(c.req.param("name"), c.req.param("version"), {
      intendedUse: b.intended_use,
      limitations: b.limitations,
    });
    return c.json({
      model_version: modelVersionJson(v),
      intended_use: v.intendedUse,
      limitations: v.limitations,
    });
  });
}
