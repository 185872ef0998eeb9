import type { ArtifactStore } from "@keel/artifacts";
import { type AuditLog, type AuditMark, announce, auditFirst } from "@keel/audit";
import { type Clock, currentPrincipal, newId, pad, requireHuman, requireRole } from "@keel/core";
import { type Item, isConditionFailed, type Key, type MetadataStore } from "@keel/metadata";
import { changedFiles, digestTree, storePathOf } from "./artifact-pins";
import { registryErrors } from "./errors";
import type { FrozenRuns } from "./frozen-runs";
import { type ModelRepository, record } from "./model-repository";
import {
  type CheckResult,
  DEFAULT_POLICY,
  evaluateChecks,
  failedChecks,
  isProtected,
  type Policy,
  parsePolicy,
  weakenings,
} from "./policy";
import { type PolicyChangeRecord, PolicyChanges } from "./policy-changes";
import type { ProductionApproval, RunReader, RunRecord } from "./ports";
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
  /** The version's storage location when the request was made. */
  sourceUri?: string;
  /** The version's source run, frozen while the request is pending or approved. */
  sourceRunId?: string;
  /**
   * SHA-256 of every file under the source at request time, by relative path: what the
   * reviewer approves. Approval re-hashes and is refused when anything changed.
   */
  artifactDigests?: Record<string, string>;
}

/** What `setPolicy` did: applied a policy at once, or opened a request for a second admin. */
export type PolicyOutcome = { policy: Policy } | { change: PolicyChangeRecord };

/** The principal recorded as approver when a stage's config approves moves automatically. */
export const AUTO_APPROVER = "keel:auto-approve";

export const policyKey = (modelId: string): Key => ({ pk: `RM#${modelId}`, sk: "POLICY" });
const promotionKey = (id: string): Key => ({ pk: `PROMO#${id}`, sk: "REQ" });
const slot = (kind: "GRANT" | "PENDING", modelId: string, version: number, t: Target): Key => ({
  pk: `RM#${modelId}`,
  sk: `${kind}#${pad(version, 10)}#${targetKey(t)}`,
});

/** A model's policy (the default until one is set), without the mark of its audit event. */
export async function readPolicy(store: MetadataStore, modelId: string): Promise<Policy> {
  const it = await store.get(policyKey(modelId));
  if (!it) return DEFAULT_POLICY;
  const { auditSeq: _seq, changeId: _change, ...policy } = record<Policy & Partial<AuditMark>>(it);
  return policy;
}

export interface GovernanceDeps {
  repo: ModelRepository;
  audit: AuditLog;
  clock: Clock;
  runs?: RunReader;
  /** Where versions' files are read from to pin them (digests); without it nothing is pinned. */
  artifacts?: ArtifactStore;
  frozen: FrozenRuns;
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
  readonly policyChanges: PolicyChanges;

  constructor(private readonly deps: GovernanceDeps) {
    this.policyChanges = new PolicyChanges({
      store: deps.repo.store,
      audit: deps.audit,
      clock: deps.clock,
      getPolicy: (id) => this.getPolicy(id),
      apply: (model, policy) => this.applyPolicy(model, policy),
      model: (id) => deps.repo.getById(id),
    });
  }

  async getPolicy(modelId: string): Promise<Policy> {
    return readPolicy(this.deps.repo.store, modelId);
  }

  /**
   * An admin sets a model's policy. A change that is at least as strict applies at once; one
   * that weakens it (a protected stage or alias or a check removed or loosened) becomes a
   * pending policy change that a second, different admin must approve.
   */
  async setPolicy(model: ModelRecord, input: unknown, comment = ""): Promise<PolicyOutcome> {
    requireRole("change a model's policy", "admin");
    const current = await this.getPolicy(model.id);
    const next = parsePolicy(input, current);
    const weak = weakenings(current, next);
    if (weak.length) return { change: await this.policyChanges.request(model, current, next, weak, comment) };
    return { policy: await this.applyPolicy(model, next) };
  }

  private async applyPolicy(
    model: ModelRecord,
    next: Omit<Policy, "updatedBy" | "updatedAt">,
  ): Promise<Policy> {
    const policy: Policy = { ...next, updatedBy: currentPrincipal(), updatedAt: this.deps.clock.now() };
    const mark = await announce(this.deps.audit, {
      action: "registry.policy.set",
      resource: `model:${model.name}`,
      state: policy,
    });
    await this.deps.repo.store.put({ ...policyKey(model.id), ...policy, ...mark });
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

  /**
   * Whether moving `version` to `target` needs an approval: the target is protected, or the
   * version would leave a protected stage (retiring a Production version is four-eyes too).
   */
  needsApproval(policy: Policy, version: VersionRecord, target: Target): boolean {
    if (isProtected(policy, target)) return true;
    return (
      target.kind === "stage" &&
      target.stage !== version.currentStage &&
      policy.protectedStages.includes(version.currentStage)
    );
  }

  /** A configured stage approves moves into it, but never a move out of a protected stage. */
  private autoApproves(policy: Policy, version: VersionRecord, target: Target): boolean {
    return (
      target.kind === "stage" &&
      this.deps.autoApproveStages.includes(target.stage) &&
      (target.stage === version.currentStage || !policy.protectedStages.includes(version.currentStage))
    );
  }

  /** Whether `target` needs no approval for this version or already has one. */
  async isAllowed(model: ModelRecord, version: VersionRecord, target: Target): Promise<boolean> {
    const policy = await this.getPolicy(model.id);
    if (!this.needsApproval(policy, version, target)) return true;
    return (await this.deps.repo.store.get(slot("GRANT", model.id, version.version, target))) !== undefined;
  }

  /** Whether the version holds a protected stage or one of the model's protected aliases. */
  async protectedPlaces(model: ModelRecord, versions: VersionRecord[]): Promise<string[]> {
    const policy = await this.getPolicy(model.id);
    const out: string[] = [];
    for (const v of versions) {
      if (policy.protectedStages.includes(v.currentStage))
        out.push(`version ${v.version} is in stage '${v.currentStage}'`);
    }
    for (const [alias, n] of Object.entries(model.aliases)) {
      if (policy.protectedAliases.includes(alias) && versions.some((v) => v.version === n))
        out.push(`alias '${alias}' points at version ${n}`);
    }
    return out;
  }

  /** The file digests of a version's source, as an approval pins them ({} when outside the store). */
  async pin(version: VersionRecord): Promise<{ sourceUri: string; digests: Record<string, string> }> {
    const sourceUri = version.storageLocation || version.source;
    const path = this.deps.artifacts ? storePathOf(sourceUri, this.deps.artifacts) : undefined;
    if (!path || !this.deps.artifacts) return { sourceUri, digests: {} };
    return { sourceUri, digests: await digestTree(this.deps.artifacts, path) };
  }

  /**
   * Throws PERMISSION_DENIED, naming the approval flow, unless the move is allowed. A stage
   * listed in autoApproveStages is approved here and now, when its checks pass, and the
   * approval is recorded like any other.
   */
  async authorize(model: ModelRecord, version: VersionRecord, target: Target): Promise<void> {
    if (await this.isAllowed(model, version, target)) return;
    if (this.autoApproves(await this.getPolicy(model.id), version, target)) {
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
    const req = {
      ...this.newRequest(model, version, target, comment, checks, false),
      ...(await this.pinned(version)),
    };
    const approved: PromotionRecord = {
      ...req,
      status: "APPROVED",
      reviewer: AUTO_APPROVER,
      reviewComment: "approved automatically by configuration (autoApproveStages)",
      reviewedAt: now,
      checksAtApproval: checks,
      autoApproved: true,
    };
    await auditFirst(
      this.deps.audit,
      {
        action: "registry.promotion.auto_approve",
        resource: versionResource(model.name, version.version),
        state: approved,
      },
      async (mark) => {
        await this.putRequest(approved, mark);
        await this.freeze(version, approved);
        await this.grant(approved);
      },
    );
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

  private async putRequest(r: PromotionRecord, mark: AuditMark) {
    await this.deps.repo.store.put(
      {
        ...promotionKey(r.id),
        ...r,
        ...mark,
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
    if (!this.needsApproval(policy, version, target)) {
      throw registryErrors.invalid(
        `${targetLabel(target)} is not protected by the policy of model '${model.name}': move the version directly`,
      );
    }
    if (this.autoApproves(policy, version, target)) {
      return this.autoApprove(model, version, target, comment);
    }
    const checks = await this.evaluate(policy, version);
    const req: PromotionRecord = {
      ...this.newRequest(model, version, target, comment, checks, archiveExistingVersions),
      ...(await this.pinned(version)),
    };
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
    await auditFirst(
      this.deps.audit,
      {
        action: "registry.promotion.request",
        resource: versionResource(model.name, version.version),
        state: req,
      },
      async (mark) => {
        await this.freeze(version, req);
        await this.putRequest(req, mark);
      },
    );
    return req;
  }

  private async pinned(
    version: VersionRecord,
  ): Promise<Pick<PromotionRecord, "sourceUri" | "artifactDigests" | "sourceRunId">> {
    const { sourceUri, digests } = await this.pin(version);
    return { sourceUri, artifactDigests: digests, sourceRunId: version.runId };
  }

  private async freeze(version: VersionRecord, r: PromotionRecord): Promise<void> {
    await this.deps.frozen.freeze(version.runId, {
      requestId: r.id,
      modelName: r.modelName,
      version: r.version,
      target: r.target,
      status: r.status === "APPROVED" ? "APPROVED" : "PENDING",
    });
  }

  /**
   * The latest approved promotion of `version` into stage Production or into an alias the
   * model's policy protects, with the digests it pinned; undefined when there is none.
   */
  async productionApproval(model: ModelRecord, version: number): Promise<ProductionApproval | undefined> {
    const policy = await this.getPolicy(model.id);
    const approved = (await this.listRequests(model.id, "APPROVED"))
      .filter(
        (r) =>
          r.version === version &&
          (r.target.kind === "stage"
            ? r.target.stage === "Production"
            : policy.protectedAliases.includes(r.target.alias)),
      )
      .sort((a, b) => (b.reviewedAt ?? 0) - (a.reviewedAt ?? 0))[0];
    if (!approved) return undefined;
    return {
      approvedBy: approved.reviewer ?? "",
      approvedAt: approved.reviewedAt ?? 0,
      digests: approved.artifactDigests ?? {},
      sourceUri: approved.sourceUri ?? "",
    };
  }

  async getRequest(id: string): Promise<PromotionRecord> {
    const it = /^[0-9a-f]{32}$/.test(id) ? await this.deps.repo.store.get(promotionKey(id)) : undefined;
    if (!it) throw registryErrors.notFound(`promotion request '${id}' not found`);
    return promotionRecord(it);
  }

  async listRequests(modelId: string, status?: PromotionStatus): Promise<PromotionRecord[]> {
    const items = await this.deps.repo.store.queryAll({ pk: `RMPROMOS#${modelId}`, index: "gsi1" });
    return items.map(promotionRecord).filter((r) => !status || r.status === status);
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
    requireRole("approve a promotion", "approver");
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
    const resource = versionResource(model.name, req.version);
    if (req.artifactDigests) {
      const now = await this.pin(version);
      const changed = changedFiles(req.artifactDigests, now.digests);
      if (changed.length || now.sourceUri !== req.sourceUri) {
        await this.deps.audit.append({
          action: "registry.promotion.approval_refused",
          resource,
          state: {
            requestId: id,
            reason: "artifacts changed",
            changed,
            pinned: req.artifactDigests,
            now: now.digests,
          },
        });
        throw registryErrors.state(
          `promotion ${id} cannot be approved: the version's files changed since the request was made ` +
            `(${changed.join(", ") || "source moved"}); what was reviewed is not what would be deployed`,
        );
      }
    }
    const checks = await this.evaluate(await this.getPolicy(model.id), version);
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
    const change: Partial<PromotionRecord> = {
      status: "APPROVED",
      reviewer: principal,
      reviewComment: comment,
      reviewedAt: this.deps.clock.now(),
      checksAtApproval: checks,
    };
    // The event carries what the reviewer saw: the check values and the pinned digests.
    return auditFirst(
      this.deps.audit,
      {
        action: "registry.promotion.approve",
        resource,
        state: { ...req, ...change, artifactDigests: req.artifactDigests ?? {} },
      },
      async (mark) => {
        const approved = await this.decide(req, change, mark);
        await this.freeze(version, approved);
        await this.grant(approved);
        await this.deps.repo.store.delete(slot("PENDING", req.modelId, req.version, req.target));
        return approved;
      },
    );
  }

  async reject(id: string, comment: string): Promise<PromotionRecord> {
    const req = await this.getRequest(id);
    if (currentPrincipal() !== req.requester) requireRole("reject a promotion", "approver");
    this.assertPending(req);
    const change: Partial<PromotionRecord> = {
      status: "REJECTED",
      reviewer: currentPrincipal(),
      reviewComment: comment,
      reviewedAt: this.deps.clock.now(),
    };
    return auditFirst(
      this.deps.audit,
      {
        action: "registry.promotion.reject",
        resource: versionResource(req.modelName, req.version),
        state: { ...req, ...change },
      },
      async (mark) => {
        const rejected = await this.decide(req, change, mark);
        await this.deps.repo.store.delete(slot("PENDING", req.modelId, req.version, req.target));
        await this.deps.frozen.release(req.sourceRunId ?? "", req.id);
        return rejected;
      },
    );
  }

  private assertPending(req: PromotionRecord) {
    if (req.status !== "PENDING") {
      throw registryErrors.state(
        `promotion request ${req.id} is already ${req.status}; only PENDING requests can be decided`,
      );
    }
  }

  private async decide(
    req: PromotionRecord,
    change: Partial<PromotionRecord>,
    mark: AuditMark,
  ): Promise<PromotionRecord> {
    try {
      const it = await this.deps.repo.store.update(
        promotionKey(req.id),
        { set: Object.entries({ ...change, ...mark }).map(([k, v]) => [k, v] as [string, unknown]) },
        { condition: { path: "status", eq: "PENDING" } },
      );
      return promotionRecord(it);
    } catch (e) {
      if (isConditionFailed(e)) {
        const now = await this.getRequest(req.id);
        throw registryErrors.state(`promotion request ${req.id} is already ${now.status}`);
      }
      throw e;
    }
  }
}

/** A promotion request as stored, without the mark of its audit event. */
function promotionRecord(it: Item): PromotionRecord {
  const { auditSeq: _seq, changeId: _change, ...r } = record<PromotionRecord & Partial<AuditMark>>(it);
  return r;
}

export function versionResource(name: string, version: number): string {
  return `model:${name}/version:${version}`;
}
