import { type AuditLog, type AuditMark, announce, auditFirst } from "@keel/audit";
import { type Clock, currentPrincipal, digest, parseWith, requireRole } from "@keel/core";
import { type Item, isConditionFailed, type MetadataStore } from "@keel/metadata";
import { missing, ServingError } from "../errors";
import type { ApprovalReader, ModelResolver } from "../ports";
import type { BackendRegistry } from "./backend-registry";
import {
  type CreateDeploymentInput,
  createDeploymentSchema,
  DEFAULT_SAMPLE_RATE,
  type Deployment,
  deploymentSettingsSchema,
  refLabel,
  type ShiftInput,
  shadowSchema,
  shiftSchema,
  updateSettingsSchema,
  type VersionRef,
} from "./deployment-model";

/** What production deployments are checked against. */
export interface DeploymentGovernance {
  /** Approvals for Production; without it, the resolver's `isAllowed(…, "production")` decides. */
  approvals?: ApprovalReader;
  /** Backends an admin registered by name. */
  backends?: BackendRegistry;
}

export const deploymentKey = (name: string) => ({ pk: `DEPLOYMENT#${name}`, sk: "META" });
const HISTORY_LIMIT = 50;
const WRITE_ATTEMPTS = 5;

/**
 * Deployments in the MetadataStore: create, shift canary weight, set a shadow, promote, roll
 * back, change settings. Every change is a conditional write on `revision` (retried on a
 * concurrent change, so two operators never overwrite each other silently) and one audit event.
 * Aliases resolve to concrete versions at write time. Every change is checked against the
 * state after it (`govern`): in production, every version that can receive traffic (stable,
 * canary at any weight, shadow) must be approved for Production and run on the in-process
 * model server or a backend an admin registered; changing a production deployment, or moving
 * one out of production, needs the `deployer` role.
 */
export class DeploymentService {
  private readonly listeners: Array<(name: string) => void> = [];

  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly resolver?: ModelResolver,
    /** Whether the in-process model server already serves a version (from its repository). */
    private readonly localHas?: (model: string, version: string) => boolean,
    private readonly governance: DeploymentGovernance = {},
  ) {}

  /** Called with a deployment's name after every change it makes (the router drops its cached copy). */
  onChange(fn: (name: string) => void): void {
    this.listeners.push(fn);
  }

  async get(name: string): Promise<Deployment> {
    const d = await this.find(name);
    if (!d) throw missing(`deployment '${name}' does not exist`);
    return d;
  }

  async find(name: string): Promise<Deployment | undefined> {
    const item = await this.store.get(deploymentKey(name));
    return item ? (item.deployment as Deployment) : undefined;
  }

  async list(): Promise<Deployment[]> {
    const items = await this.store.queryAll({ pk: "DEPLOYMENTS", index: "gsi1" });
    return items.map((i) => i.deployment as Deployment);
  }

  async create(input: CreateDeploymentInput): Promise<Deployment> {
    const body = parseWith(createDeploymentSchema, input, "deployment");
    const { name, model, version, backend, shadow, ...settings } = body;
    const now = this.clock.now();
    const stable = await this.checked(
      { model, version, backend: backend ?? { type: "local" } },
      settings.environment,
    );
    const dep: Deployment = {
      ...settings,
      sample_rate: settings.sample_rate ?? DEFAULT_SAMPLE_RATE[settings.environment],
      name,
      stable,
      shadow: shadow ? await this.checked(shadow, settings.environment) : undefined,
      revision: 1,
      epoch: 1,
      created_at: now,
      updated_at: now,
      history: [
        { time: now, principal: currentPrincipal(), action: "create", detail: `stable ${refLabel(stable)}` },
      ],
    };
    await this.govern(undefined, dep);
    // The event first: a crash after it leaves an intended change, never an unaudited deployment.
    await auditFirst(
      this.audit,
      {
        action: "serving.deployment.create",
        resource: `deployment:${name}`,
        state: { ...dep, digest: deploymentDigest(dep) },
      },
      (mark) =>
        this.store.put(this.item(dep, mark), { condition: { exists: false } }).catch((e) => {
          if (isConditionFailed(e))
            throw new ServingError("RESOURCE_ALREADY_EXISTS", `deployment '${name}' already exists`);
          throw e;
        }),
    );
    this.changed(name);
    return dep;
  }

  /** Routes `weight` percent of traffic to a canary version (0 keeps it deployed without traffic). */
  async shift(name: string, input: ShiftInput): Promise<Deployment> {
    const body = parseWith(shiftSchema, input, "shift request");
    return this.mutate(name, "shift", async (d) => {
      const ref = await this.checked(
        {
          model: body.model ?? d.stable.model,
          version: body.version,
          backend: body.backend ?? d.canary?.backend ?? d.stable.backend,
        },
        d.environment,
      );
      if (refLabel(ref) === refLabel(d.stable))
        throw new ServingError(
          "INVALID_PARAMETER_VALUE",
          `${refLabel(ref)} is already the stable version of '${name}'`,
        );
      const sameCanary = d.canary !== undefined && refLabel(d.canary) === refLabel(ref);
      return {
        next: { ...d, canary: { ...ref, weight: body.weight } },
        newEpoch: !sameCanary,
        detail: `canary ${refLabel(ref)} at ${body.weight}%`,
      };
    });
  }

  /** Sends a copy of each request to `input` (or stops shadowing when null). */
  async setShadow(name: string, input: unknown): Promise<Deployment> {
    return this.mutate(name, input === null ? "shadow.remove" : "shadow.set", async (d) => {
      if (input === null) return { next: { ...d, shadow: undefined }, detail: "no shadow" };
      const body = parseWith(shadowSchema, input, "shadow");
      const ref = await this.checked(
        {
          model: body.model ?? d.stable.model,
          version: body.version,
          backend: body.backend ?? d.stable.backend,
        },
        d.environment,
      );
      return { next: { ...d, shadow: ref }, detail: `shadow ${refLabel(ref)}` };
    });
  }

  /** Makes the canary the stable version with all the traffic. */
  async promote(name: string, reason = "manual"): Promise<Deployment> {
    return this.mutate(name, "promote", async (d) => {
      if (!d.canary) throw new ServingError("INVALID_STATE", `deployment '${name}' has no canary to promote`);
      const { weight: _w, ...ref } = d.canary;
      return {
        next: { ...d, stable: ref, canary: undefined },
        newEpoch: true,
        detail: `promoted ${refLabel(ref)} (${reason}); previous stable ${refLabel(d.stable)}`,
      };
    });
  }

  /**
   * Sends all traffic back to the stable version and drops the canary. Without a canary, it
   * restores the stable version from before the last promotion.
   */
  async rollback(name: string, reason = "manual"): Promise<Deployment> {
    return this.mutate(name, "rollback", async (d) => {
      if (d.canary)
        return {
          next: { ...d, canary: undefined },
          newEpoch: true,
          detail: `rolled back canary ${refLabel(d.canary)} (${reason})`,
        };
      const previous = d.history
        .find((h) => h.action === "promote")
        ?.detail.match(/previous stable (\S+)@(\S+)$/);
      if (!previous)
        throw new ServingError(
          "INVALID_STATE",
          `deployment '${name}' has no canary and no earlier stable version to roll back to`,
        );
      const ref: VersionRef = { ...d.stable, model: previous[1], version: previous[2] };
      return {
        next: { ...d, stable: ref },
        newEpoch: true,
        detail: `restored stable ${refLabel(ref)} (${reason})`,
      };
    });
  }

  /** Changes only the settings the input names (nested `analysis` fields too); the rest stay as they are. */
  async updateSettings(name: string, input: unknown): Promise<Deployment> {
    const patch = parseWith(updateSettingsSchema, input, "deployment settings");
    const given = input as Record<string, unknown>;
    return this.mutate(name, "settings", async (d) => {
      const merged = parseWith(
        deploymentSettingsSchema,
        { ...d, ...given, analysis: { ...d.analysis, ...((given.analysis as object | undefined) ?? {}) } },
        "deployment settings",
      );
      return { next: { ...d, ...merged }, detail: `settings ${Object.keys(patch).join(", ")}` };
    });
  }

  async delete(name: string): Promise<void> {
    const d = await this.get(name);
    if (d.environment === "production") requireRole(`delete production deployment '${name}'`, "deployer");
    await announce(this.audit, {
      action: "serving.deployment.delete",
      resource: `deployment:${name}`,
      state: { revision: d.revision },
    });
    await this.store
      .delete(deploymentKey(name), { condition: { path: "revision", eq: d.revision } })
      .catch((e) => {
        if (isConditionFailed(e))
          throw new ServingError("ABORTED", `deployment '${name}' changed while deleting it; retry`);
        throw e;
      });
    this.changed(name);
  }

  /** Read, change, write-if-unchanged; a concurrent change makes it start again from the new state. */
  private async mutate(
    name: string,
    action: string,
    change: (d: Deployment) => Promise<{ next: Deployment; detail: string; newEpoch?: boolean }>,
  ): Promise<Deployment> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await this.get(name);
      const { next, detail, newEpoch } = await change(current);
      await this.govern(current, next);
      const now = this.clock.now();
      const updated: Deployment = {
        ...next,
        revision: current.revision + 1,
        epoch: newEpoch ? current.revision + 1 : current.epoch,
        updated_at: now,
        history: [{ time: now, principal: currentPrincipal(), action, detail }, ...current.history].slice(
          0,
          HISTORY_LIMIT,
        ),
      };
      const mark = await announce(this.audit, {
        action: `serving.deployment.${action}`,
        resource: `deployment:${name}`,
        state: { revision: updated.revision, detail, digest: deploymentDigest(updated) },
      });
      try {
        await this.store.put(this.item(updated, mark), {
          condition: { path: "revision", eq: current.revision },
        });
      } catch (e) {
        // Another change won: this event stays an intended change that was never applied.
        if (isConditionFailed(e)) continue;
        throw e;
      }
      this.changed(name);
      return updated;
    }
    throw new ServingError("ABORTED", `deployment '${name}' is being changed concurrently; retry`);
  }

  /** Resolves an alias to its version (and, outside production, skips the registry for versions served without it). */
  private async checked(ref: VersionRef, environment: string): Promise<VersionRef> {
    if (!this.resolver) return ref;
    // Versions served elsewhere (kserve, sagemaker) or from the local model repository need not
    // be in the registry, except in production, where only registry-approved versions go.
    const servedWithoutRegistry =
      ref.backend.type !== "local" || (this.localHas?.(ref.model, ref.version) ?? false);
    if (environment !== "production" && servedWithoutRegistry) return ref;
    const { version } = await this.resolver.resolve(ref.model, ref.version);
    return { ...ref, version };
  }

  /**
   * The rule for production traffic, checked on the state after a change (nothing is written
   * when it fails): every version that can receive traffic is approved for Production and runs
   * on a registered or the in-process backend. Leaving production is held to the same rule
   * (drain unapproved versions first), so a flip to staging cannot launder a version in.
   */
  private async govern(before: Deployment | undefined, next: Deployment): Promise<void> {
    const wasProduction = before?.environment === "production";
    const isProduction = next.environment === "production";
    // A backend name must be registered wherever it is used (404 now, not at the first request).
    for (const [, ref] of trafficOf(next))
      if (ref.backend.type === "named") {
        if (!this.governance.backends)
          throw new ServingError("INVALID_PARAMETER_VALUE", "no backend registry is connected here");
        await this.governance.backends.spec(ref.backend.name);
      }
    if (!wasProduction && !isProduction) return;
    requireRole(
      wasProduction && !isProduction
        ? `move deployment '${next.name}' out of production`
        : `change production deployment '${next.name}'`,
      "deployer",
    );
    const leaving = wasProduction && !isProduction ? "; drain it before leaving production" : "";
    for (const [role, ref] of trafficOf(next)) {
      const where = `the ${role} ${refLabel(ref)} of deployment '${next.name}'`;
      if (ref.backend.type === "kserve" || ref.backend.type === "sagemaker")
        throw new ServingError(
          "PERMISSION_DENIED",
          `${where} names a free-form ${ref.backend.type} backend; production deployments run only on backends an admin registered (/api/v1/backends) or 'in-process'${leaving}`,
        );
      if (!(await this.approvedForProduction(ref)))
        throw new ServingError(
          "PERMISSION_DENIED",
          `${where}: model '${ref.model}' version ${ref.version} is not approved for production deployments (no approved promotion to Production)${leaving}`,
        );
    }
  }

  private async approvedForProduction(ref: VersionRef): Promise<boolean> {
    const { approvals } = this.governance;
    if (approvals) return (await approvals.productionApproval(ref.model, ref.version)) !== undefined;
    if (this.resolver) return this.resolver.isAllowed(ref.model, ref.version, "production");
    return false;
  }

  private item(d: Deployment, mark: AuditMark): Item {
    // JSON round trip drops undefined fields, which the store would reject.
    return {
      ...deploymentKey(d.name),
      ...mark,
      gsi1pk: "DEPLOYMENTS",
      gsi1sk: d.name,
      revision: d.revision,
      deployment: JSON.parse(JSON.stringify(d)),
    };
  }

  private changed(name: string): void {
    for (const l of this.listeners) l(name);
  }
}

/** The digest of a deployment as stored (its audit events name it, so an edit in place is seen). */
export function deploymentDigest(d: Deployment): string {
  return digest(JSON.parse(JSON.stringify(d)));
}

/** Every version a deployment can send requests to: stable, the canary at any weight (a version-pinned request reaches it), the shadow. */
export function trafficOf(d: Deployment): Array<["stable" | "canary" | "shadow", VersionRef]> {
  const out: Array<["stable" | "canary" | "shadow", VersionRef]> = [["stable", d.stable]];
  if (d.canary) out.push(["canary", d.canary]);
  if (d.shadow) out.push(["shadow", d.shadow]);
  return out;
}
