import { registryErrors } from "./errors";
import type { PolicyOutcome, PromotionRecord, PromotionStatus } from "./governance";
import { isProtected, type Policy } from "./policy";
import type { PolicyChangeRecord } from "./policy-changes";
import type { ProductionApproval } from "./ports";
import { type Target, validateNewAlias } from "./records";
import type { RegistryContext } from "./registry-context";
import type { StageService } from "./stage-service";
/** The governance glue: policies, promotion requests and their moves, approvals and locks for other areas. */
export class PromotionService {
  constructor(
    private readonly ctx: RegistryContext,
    private readonly stages: StageService,
  ) {}

  async getPolicy(name: string): Promise<Policy> {
    return this.ctx.governance.getPolicy((await this.ctx.getModel(name)).id);
  }

  /** Applies a policy at once when it is no weaker; otherwise opens a policy change for a second admin. */
  async setPolicy(name: string, input: unknown, comment = ""): Promise<PolicyOutcome> {
    return this.ctx.governance.setPolicy(await this.ctx.getModel(name), input, comment);
  }

  async getPolicyChange(id: string): Promise<PolicyChangeRecord> {
    return this.ctx.governance.policyChanges.get(id);
  }

  async approvePolicyChange(id: string, comment = ""): Promise<PolicyChangeRecord> {
    return this.ctx.governance.policyChanges.approve(id, comment);
  }

  async rejectPolicyChange(id: string, comment = ""): Promise<PolicyChangeRecord> {
    return this.ctx.governance.policyChanges.reject(id, comment);
  }

  /** Opens a promotion request; for an auto-approved stage the move happens at once. */
  async requestPromotion(
    name: string,
    version: string | number,
    target: Target,
    comment = "",
    archiveExisting = false,
  ): Promise<PromotionRecord> {
    if (target.kind === "alias") validateNewAlias(target.alias);
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    const req = await this.ctx.governance.request(model, v, target, comment, archiveExisting);
    if (req.status === "APPROVED") await this.applyPromotion(req);
    else await this.ctx.changed(model, [v.version]);
    return req;
  }

  /** Approves (four eyes, checks re-evaluated) and then performs the move. */
  async approvePromotion(id: string, comment = ""): Promise<PromotionRecord> {
    const approved = await this.ctx.governance.approve(id, comment, async (r) => {
      const model = await this.ctx.repo.getById(r.modelId);
      if (!model) throw registryErrors.notFound(`the model of promotion request ${id} no longer exists`);
      return { model, version: await this.ctx.versionOf(model, r.version) };
    });
    await this.applyPromotion(approved);
    return approved;
  }

  async rejectPromotion(id: string, comment = ""): Promise<PromotionRecord> {
    const rejected = await this.ctx.governance.reject(id, comment);
    const model = await this.ctx.repo.getById(rejected.modelId);
    if (model) await this.ctx.changed(model, [rejected.version]);
    return rejected;
  }

  async listPromotions(name: string, status?: PromotionStatus): Promise<PromotionRecord[]> {
    return this.ctx.governance.listRequests((await this.ctx.getModel(name)).id, status);
  }

  private async applyPromotion(r: PromotionRecord): Promise<void> {
    const model = await this.ctx.repo.getById(r.modelId);
    if (!model) throw registryErrors.notFound(`the model of promotion request ${r.id} no longer exists`);
    // Publish first: when the copy into the model repository fails, the version stays where it was.
    const publisher = this.ctx.publisher;
    if (publisher && isProtected(await this.ctx.governance.getPolicy(model.id), r.target)) {
      await publisher.publish({
        model: model.name,
        version: String(r.version),
        sourceUri: r.sourceUri ?? "",
        digests: r.artifactDigests ?? {},
      });
    }
    if (r.target.kind === "stage") {
      await this.stages.transitionStage(model.name, r.version, r.target.stage, r.archiveExistingVersions);
    } else {
      await this.stages.setAlias(model.name, r.target.alias, r.version);
    }
  }

  // ---- resolution for serving and governance -----------------------------------------

  /** Whether moving `version` into `target` needs no further approval (for deployments). */
  async isAllowed(name: string, version: string | number, target: Target): Promise<boolean> {
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    return this.ctx.governance.isAllowed(model, v, target);
  }

  /**
   * The version's approval for production traffic (its latest approved promotion into stage
   * Production or a protected alias) with the digests it pinned; undefined when there is none.
   */
  async productionApproval(name: string, version: string): Promise<ProductionApproval | undefined> {
    const model = await this.ctx.getModel(name);
    return this.ctx.governance.productionApproval(model, (await this.ctx.versionOf(model, version)).version);
  }

  /** Why writes to the run's metrics, params, tags or status are refused (tracking's FrozenRuns port). */
  async frozenReason(runId: string): Promise<string | undefined> {
    return this.ctx.frozen.reason(runId);
  }

  /** Why an artifact path may not be written (or, with `subtree`, deleted): a registered version's files. */
  async artifactLock(path: string, subtree: boolean): Promise<string | undefined> {
    return this.ctx.locks.lockedBy(path, subtree);
  }
}
