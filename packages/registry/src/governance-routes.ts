import { mount, governanceRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { registryErrors } from "./errors";
import type { PromotionRecord } from "./governance";
import { modelVersionJson } from "./mlflow-json";
import type { Policy } from "./policy";
import type { PolicyChangeRecord } from "./policy-changes";
import type { ProvenanceService } from "./provenance-service";
import { parseStage, type Target } from "./records";
import type { RegistryService } from "./registry-service";

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
  mount(app, r.getPolicy, async ({ params }) => ({ policy: policyJson(await svc.getPolicy(params.name)) }));
  mount(app, r.setPolicy, async ({ params, body }, c) => {
    const { comment, ...policy } = body;
    const out = await svc.setPolicy(params.name, policy, typeof comment === "string" ? comment : "");
    // A weakening is not applied: it waits for a second admin (202 with the pending change).
    return "change" in out
      ? c.json({ policy_change: policyChangeJson(out.change) }, 202)
      : { policy: policyJson(out.policy) };
  });
  mount(app, r.getPolicyChange, async ({ params }) => ({
    policy_change: policyChangeJson(await svc.getPolicyChange(params.id)),
  }));
  mount(app, r.approvePolicyChange, async ({ params, body }) => ({
    policy_change: policyChangeJson(await svc.approvePolicyChange(params.id, body.comment)),
  }));
  mount(app, r.rejectPolicyChange, async ({ params, body }) => ({
    policy_change: policyChangeJson(await svc.rejectPolicyChange(params.id, body.comment)),
  }));
  mount(app, r.listPromotions, async ({ params, query }) => ({
    promotions: (await svc.listPromotions(params.name, query.status)).map(promotionJson),
  }));
  mount(app, r.requestPromotion, async ({ params, body: b }) => {
    const target: Target =
      b.stage !== undefined
        ? { kind: "stage", stage: parseStage(b.stage) }
        : { kind: "alias", alias: b.alias! };
    if (target.kind === "stage" && target.stage === "None") {
      throw registryErrors.invalid("a promotion must target a stage other than None");
    }
    const p = await svc.requestPromotion(
      params.name,
      params.version,
      target,
      b.comment,
      b.archive_existing_versions,
    );
    return { promotion: promotionJson(p) };
  });
  mount(app, r.getPromotion, async ({ params }) => ({
    promotion: promotionJson(await svc.governance.getRequest(params.id)),
  }));
  mount(app, r.approvePromotion, async ({ params, body }) => ({
    promotion: promotionJson(await svc.approvePromotion(params.id, body.comment)),
  }));
  mount(app, r.rejectPromotion, async ({ params, body }) => ({
    promotion: promotionJson(await svc.rejectPromotion(params.id, body.comment)),
  }));
  mount(app, r.getLineage, async ({ params }) => ({
    lineage: await provenance.lineage(params.name, params.version),
  }));
  mount(app, r.getCard, async ({ params, query }, c) => {
    const html = query.format === "html";
    const text = await provenance.card(params.name, params.version, html ? "html" : "markdown");
    return c.body(text, 200, {
      "content-type": html ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8",
    });
  });
  mount(app, r.setCard, async ({ params, body }) => {
    const v = await svc.setCardText(params.name, params.version, {
      intendedUse: body.intended_use,
      limitations: body.limitations,
    });
    return { model_version: modelVersionJson(v), intended_use: v.intendedUse, limitations: v.limitations };
  });
}
