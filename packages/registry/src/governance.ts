import type { AuditLog } from "@keel/audit";
import { type Clock, currentPrincipal, newId, pad, requireHuman } from "@keel/core";
import { isConditionFailed, type Key } from "@keel/metadata";
import { registryErrors } from "./errors";
import { type ModelRepository, record } from "./model-repository";
import {
  type CheckResult,
  DEFAULT_POLICY,
  evaluateChecks,
  failedChecks,
  isProtected,
  type Policy,
  parsePolicy,
} from "./policy";
import type { RunReader, RunRecord } from "./ports";
import { type ModelRecord, type Target, targetKey, targetLabel, type VersionRecord } from "./records";

export type PromotionStatus = "PENDING" | "APPROVED" | "REJECTED";

export interface PromotionRecord {
  id: string;
  modelId: string;
  /** The model's name when the request was made (a later rename does not rewrite history). */
  modelName: string;
  version: number;
  target: Target;
  archiveExistingVersions: boolean;
  status: PromotionStatus;
  requester: string;
  requestComment: string;
  requestedAt: number;
  checksAtRequest: CheckResult[];
  reviewer?: string;
  reviewComment?: string;
  reviewedAt?: number;
  checksAtApproval?: CheckResult[];
  autoApproved?: boolean;
}

/** The principal recorded as approver when a stage's config approves moves automatically. */
export const AUTO_APPROVER = "keel:auto-approve";

const policyKey = (modelId: string): Key => ({ pk: `RM#${modelId}`, sk: "POLICY" });
const promotionKey = (id: string): Key => ({ pk: `PROMO#${id}`, sk: "REQ" });
const slot = (kind: "GRANT" | "PENDING", modelId: string, version: number, t: Target): Key => ({
  pk: `RM#${modelId}`,
  sk: `${kind}#${pad(version, 10)}#${targetKey(t)}`,
});

export interface GovernanceDeps {
  repo: ModelRepository;
  audit: AuditLog;
  clock: Clock;
  runs?: RunReader;
  /** Stages whose moves approve themselves (KEEL_AUTO_APPROVE_STAGES); nothing else does. */
  autoApproveStages: string[];
}

/**
 * Promotion policies and four-eyes approvals. A move of a version into a stage or alias the
 * model's policy protects is allowed only with a grant, and a grant is written only when a
 * promotion request is approved by someone other than its requester with every check
 * passing. `authorize` is the one gate every API that moves versions goes through.
 */
export class Governance {
  constructor(private readonly deps: GovernanceDeps) {}

  async getPolicy(modelId: string): Promise<Policy> {
    const it = await this.deps.repo.store.get(policyKey(modelId));
    return it ? record<Policy>(it) : DEFAULT_POLICY;
  }

  async setPolicy(model: ModelRecord, input: unknown): Promise<Policy> {
    const current = await this.getPolicy(model.id);
    const policy: Policy = {
      ...parsePolicy(input, current),
      updatedBy: currentPrincipal(),
      updatedAt: this.deps.clock.now(),
    };
    await this.deps.repo.store.put({ ...policyKey(model.id), ...policy });
    await this.deps.audit.append({
      action: "registry.policy.set",
      resource: `model:${model.name}`,
      state: policy,
    });
    return policy;
  }

  async readRun(runId: string): Promise<RunRecord | undefined> {
    if (!this.deps.runs || !runId) return undefined;
    try {
      return await this.deps.runs.getRun(runId);
    } catch (e) {
      if ((e as { code?: string }).code === "RESOURCE_DOES_NOT_EXIST") return undefined;
      throw e;
    }
  }

  private async evaluate(policy: Policy, version: VersionRecord): Promise<CheckResult[]> {
    return evaluateChecks(policy.checks, version, await this.readRun(version.runId));
  }

  /** Whether `target` needs no approval for this version or already has one. */
  async isAllowed(model: ModelRecord, version: number, target: Target): Promise<boolean> {
    const policy = await this.getPolicy(model.id);
    if (!isProtected(policy, target)) return true;
    return (await this.deps.repo.store.get(slot("GRANT", model.id, version, target))) !== undefined;
  }

  /**
   * Throws PERMISSION_DENIED, naming the approval flow, unless the move is allowed. A stage
   * listed in autoApproveStages is approved here and now, when its checks pass, and the
   * approval is recorded like any other.
   */
  async authorize(model: ModelRecord, version: VersionRecord, target: Target): Promise<void> {
    if (await this.isAllowed(model, version.version, target)) return;
    if (target.kind === "stage" && this.deps.autoApproveStages.includes(target.stage)) {
      await this.autoApprove(model, version, target, "");
      return;
    }
    throw registryErrors.denied(
      `Moving model '${model.name}' version ${version.version} into ${targetLabel(target)} requires an approved ` +
        `promotion request (four-eyes approval). Request it with 'keel model promote ${model.name} ${version.version} ` +
        `--${target.kind} ${target.kind === "stage" ? target.stage : target.alias}' (POST /api/v1/models/` +
        `${encodeURIComponent(model.name)}/versions/${version.version}/promotions); a different principal then ` +
        `approves it with 'keel model approve <request-id>'.`,
    );
  }

  private async autoApprove(model: ModelRecord, version: VersionRecord, target: Target, comment: string) {
    const policy = await this.getPolicy(model.id);
    const checks = await this.evaluate(policy, version);
    if (checks.some((c) => !c.passed)) {
      throw registryErrors.denied(
        `${targetLabel(target)} approves automatically only when the policy's checks pass: ${failedChecks(checks)}`,
      );
    }
    const now = this.deps.clock.now();
    const req = this.newRequest(model, version, target, comment, checks, false);
    const approved: PromotionRecord = {
      ...req,
      status: "APPROVED",
      reviewer: AUTO_APPROVER,
      reviewComment: "approved automatically by configuration (autoApproveStages)",
      reviewedAt: now,
      checksAtApproval: checks,
      autoApproved: true,
    };
    await this.putRequest(approved);
    await this.grant(approved);
    await this.deps.audit.append({
      action: "registry.promotion.auto_approve",
      resource: versionResource(model.name, version.version),
      state: approved,
    });
    return approved;
  }

  private newRequest(
    model: ModelRecord,
    version: VersionRecord,
    target: Target,
    comment: string,
    checks: CheckResult[],
    archiveExistingVersions: boolean,
  ): PromotionRecord {
    return {
      id: newId(),
      modelId: model.id,
      modelName: model.name,
      version: version.version,
      target,
      archiveExistingVersions,
      status: "PENDING",
      requester: currentPrincipal(),
      requestComment: comment,
      requestedAt: this.deps.clock.now(),
      checksAtRequest: checks,
    };
  }

  private async putRequest(r: PromotionRecord) {
    await this.deps.repo.store.put(
      {
        ...promotionKey(r.id),
        ...r,
        gsi1pk: `RMPROMOS#${r.modelId}`,
        gsi1sk: `${pad(r.requestedAt, 15)}#${r.id}`,
      },
      { condition: { exists: false } },
    );
  }

  private async grant(r: PromotionRecord) {
    await this.deps.repo.store.put({
      ...slot("GRANT", r.modelId, r.version, r.target),
      requestId: r.id,
      approvedBy: r.reviewer,
      approvedAt: r.reviewedAt,
    });
  }

  /**
   * Opens a request. Only protected targets take requests; a target whose stage approves
   * automatically is approved at once. One request per version and target may be pending.
   */
  async request(
    model: ModelRecord,
    version: VersionRecord,
    target: Target,
    comment: string,
    archiveExistingVersions: boolean,
  ): Promise<PromotionRecord> {
    const policy = await this.getPolicy(model.id);
    if (!isProtected(policy, target)) {
      throw registryErrors.invalid(
        `${targetLabel(target)} is not protected by the policy of model '${model.name}': move the version directly`,
      );
    }
    if (target.kind === "stage" && this.deps.autoApproveStages.includes(target.stage)) {
      return this.autoApprove(model, version, target, comment);
    }
    const checks = await this.evaluate(policy, version);
    const req = this.newRequest(model, version, target, comment, checks, archiveExistingVersions);
    const pending = slot("PENDING", model.id, version.version, target);
    try {
      await this.deps.repo.store.put({ ...pending, requestId: req.id }, { condition: { exists: false } });
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      const other = await this.deps.repo.store.get(pending);
      throw registryErrors.exists(
        `a promotion request for model '${model.name}' version ${version.version} into ${targetLabel(target)} is ` +
          `already pending: ${String(other?.requestId)}`,
      );
    }
    await this.putRequest(req);
    await this.deps.audit.append({
      action: "registry.promotion.request",
      resource: versionResource(model.name, version.version),
      state: req,
    });
    return req;
  }

  async getRequest(id: string): Promise<PromotionRecord> {
    const it = /^[0-9a-f]{32}$/.test(id) ? await this.deps.repo.store.get(promotionKey(id)) : undefined;
    if (!it) throw registryErrors.notFound(`promotion request '${id}' not found`);
    return record<PromotionRecord>(it);
  }

  async listRequests(modelId: string, status?: PromotionStatus): Promise<PromotionRecord[]> {
    const items = await this.deps.repo.store.queryAll({ pk: `RMPROMOS#${modelId}`, index: "gsi1" });
    return items.map((it) => record<PromotionRecord>(it)).filter((r) => !status || r.status === status);
  }

  /**
   * Approves a pending request: the approver must differ from the requester and every check
   * must pass now. The status changes with a write conditional on it still being PENDING, so
   * of two concurrent decisions exactly one wins. Returns the approved request; the caller
   * then applies the move (which `authorize` now allows).
   */
  async approve(
    id: string,
    comment: string,
    load: (r: PromotionRecord) => Promise<{ model: ModelRecord; version: VersionRecord }>,
  ): Promise<PromotionRecord> {
    requireHuman(`approve promotion ${id}`);
    const req = await this.getRequest(id);
    this.assertPending(req);
    const principal = currentPrincipal();
    if (principal === req.requester) {
      throw registryErrors.denied(
        `four-eyes rule: '${principal}' requested promotion ${id} and cannot approve it; another principal must`,
      );
    }
    const { model, version } = await load(req);
    const checks = await this.evaluate(await this.getPolicy(model.id), version);
    const resource = versionResource(model.name, req.version);
    if (checks.some((c) => !c.passed)) {
      await this.deps.audit.append({
        action: "registry.promotion.approval_refused",
        resource,
        state: { requestId: id, checks },
      });
      throw registryErrors.state(
        `promotion ${id} cannot be approved: checks failed: ${failedChecks(checks)}`,
      );
    }
    const approved = await this.decide(req, {
      status: "APPROVED",
      reviewer: principal,
      reviewComment: comment,
      reviewedAt: this.deps.clock.now(),
      checksAtApproval: checks,
    });
    await this.grant(approved);
    await this.deps.repo.store.delete(slot("PENDING", req.modelId, req.version, req.target));
    await this.deps.audit.append({ action: "registry.promotion.approve", resource, state: approved });
    return approved;
  }

  async reject(id: string, comment: string): Promise<PromotionRecord> {
    const req = await this.getRequest(id);
    this.assertPending(req);
    const rejected = await this.decide(req, {
      status: "REJECTED",
      reviewer: currentPrincipal(),
      reviewComment: comment,
      reviewedAt: this.deps.clock.now(),
    });
    await this.deps.repo.store.delete(slot("PENDING", req.modelId, req.version, req.target));
    await this.deps.audit.append({
      action: "registry.promotion.reject",
      resource: versionResource(req.modelName, req.version),
      state: rejected,
    });
    return rejected;
  }

  private assertPending(req: PromotionRecord) {
    if (req.status !== "PENDING") {
      throw registryErrors.state(
        `promotion request ${req.id} is already ${req.status}; only PENDING requests can be decided`,
      );
    }
  }

  private async decide(req: PromotionRecord, change: Partial<PromotionRecord>): Promise<PromotionRecord> {
    try {
      const it = await this.deps.repo.store.update(
        promotionKey(req.id),
        { set: Object.entries(change).map(([k, v]) => [k, v] as [string, unknown]) },
        { condition: { path: "status", eq: "PENDING" } },
      );
      return record<PromotionRecord>(it);
    } catch (e) {
      if (isConditionFailed(e)) {
        const now = await this.getRequest(req.id);
        throw registryErrors.state(`promotion request ${req.id} is already ${now.status}`);
      }
      throw e;
    }
  }
}

export function versionResource(name: string, version: number): string {
  return `model:${name}/version:${version}`;
}
