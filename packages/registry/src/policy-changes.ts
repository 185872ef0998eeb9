import { type AuditLog, type AuditMark, auditFirst } from "@keel/audit";
import { type Clock, currentPrincipal, newId, requireRole } from "@keel/core";
import { type Item, isConditionFailed, type MetadataStore } from "@keel/metadata";
import { registryErrors } from "./errors";
import { record } from "./model-repository";
import type { Policy } from "./policy";
import type { ModelRecord } from "./records";

export type PolicyChangeStatus = "PENDING" | "APPROVED" | "REJECTED";

/** A request to weaken a model's policy, applied only when a second admin approves it. */
export interface PolicyChangeRecord {
  id: string;
  modelId: string;
  modelName: string;
  status: PolicyChangeStatus;
  /** The policy when the request was made; approval is refused if it changed meanwhile. */
  current: Policy;
  proposed: Omit<Policy, "updatedBy" | "updatedAt">;
  weakenings: string[];
  requester: string;
  requestComment: string;
  requestedAt: number;
  reviewer?: string;
  reviewComment?: string;
  reviewedAt?: number;
}

const key = (id: string) => ({ pk: `POLICYCHANGE#${id}`, sk: "REQ" });

export interface PolicyChangeDeps {
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
  getPolicy(modelId: string): Promise<Policy>;
  /** Writes the policy (and its audit event). */
  apply(model: ModelRecord, policy: Omit<Policy, "updatedBy" | "updatedAt">): Promise<Policy>;
  model(modelId: string): Promise<ModelRecord | undefined>;
}

/** Four-eyes for policy weakening: an admin requests, a different admin approves. */
export class PolicyChanges {
  constructor(private readonly deps: PolicyChangeDeps) {}

  async request(
    model: ModelRecord,
    current: Policy,
    proposed: PolicyChangeRecord["proposed"],
    weakenings: string[],
    comment = "",
  ): Promise<PolicyChangeRecord> {
    const req: PolicyChangeRecord = {
      id: newId(),
      modelId: model.id,
      modelName: model.name,
      status: "PENDING",
      current,
      proposed,
      weakenings,
      requester: currentPrincipal(),
      requestComment: comment,
      requestedAt: this.deps.clock.now(),
    };
    await auditFirst(
      this.deps.audit,
      { action: "registry.policy.change_request", resource: `model:${model.name}`, state: req },
      (mark) => this.deps.store.put({ ...key(req.id), ...req, ...mark }, { condition: { exists: false } }),
    );
    return req;
  }

  async get(id: string): Promise<PolicyChangeRecord> {
    const it = /^[0-9a-f]{32}$/.test(id) ? await this.deps.store.get(key(id)) : undefined;
    if (!it) throw registryErrors.notFound(`policy change request '${id}' not found`);
    return changeRecord(it);
  }

  async approve(id: string, comment = ""): Promise<PolicyChangeRecord> {
    requireRole("approve a policy change", "admin");
    const req = await this.pending(id);
    const principal = currentPrincipal();
    if (principal === req.requester) {
      throw registryErrors.denied(
        `four-eyes rule: '${principal}' requested policy change ${id} and cannot approve it; another admin must`,
      );
    }
    const model = await this.deps.model(req.modelId);
    if (!model) throw registryErrors.notFound(`the model of policy change ${id} no longer exists`);
    const now = await this.deps.getPolicy(req.modelId);
    if (now.updatedAt !== req.current.updatedAt) {
      throw registryErrors.state(
        `the policy of model '${model.name}' changed after policy change ${id} was requested; request it again`,
      );
    }
    const change = this.decision("APPROVED", principal, comment);
    return auditFirst(
      this.deps.audit,
      {
        action: "registry.policy.change_approve",
        resource: `model:${model.name}`,
        state: { ...req, ...change },
      },
      async (mark) => {
        const approved = await this.decide(req, change, mark);
        // Applying announces the policy it sets, and the policy item carries that event's mark.
        await this.deps.apply(model, req.proposed);
        return approved;
      },
    );
  }

  async reject(id: string, comment = ""): Promise<PolicyChangeRecord> {
    requireRole("reject a policy change", "admin");
    const req = await this.pending(id);
    const change = this.decision("REJECTED", currentPrincipal(), comment);
    return auditFirst(
      this.deps.audit,
      {
        action: "registry.policy.change_reject",
        resource: `model:${req.modelName}`,
        state: { ...req, ...change },
      },
      (mark) => this.decide(req, change, mark),
    );
  }

  private async pending(id: string): Promise<PolicyChangeRecord> {
    const req = await this.get(id);
    if (req.status !== "PENDING") {
      throw registryErrors.state(
        `policy change ${id} is already ${req.status}; only PENDING requests can be decided`,
      );
    }
    return req;
  }

  private decision(status: "APPROVED" | "REJECTED", reviewer: string, reviewComment: string) {
    return {
      status,
      reviewer,
      reviewComment,
      reviewedAt: this.deps.clock.now(),
    } satisfies Partial<PolicyChangeRecord>;
  }

  private async decide(
    req: PolicyChangeRecord,
    change: ReturnType<PolicyChanges["decision"]>,
    mark: AuditMark,
  ): Promise<PolicyChangeRecord> {
    const set = Object.entries({ ...change, ...mark });
    try {
      const it = await this.deps.store.update(
        key(req.id),
        { set },
        { condition: { path: "status", eq: "PENDING" } },
      );
      return changeRecord(it);
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      throw registryErrors.state(`policy change ${req.id} was decided meanwhile`);
    }
  }
}

/** A policy change as stored, without the mark of its audit event. */
function changeRecord(it: Item): PolicyChangeRecord {
  const { auditSeq: _seq, changeId: _change, ...r } = record<PolicyChangeRecord & Partial<AuditMark>>(it);
  return r;
}
