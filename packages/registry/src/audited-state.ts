import type { AuditEvent, AuditedItem, AuditedState, AuditMark } from "@keel/audit";
import { digest, systemClock } from "@keel/core";
import type { MetadataStore, Path } from "@keel/metadata";
import { policyKey, readPolicy } from "./governance";
import { ModelRepository, markEntries, record } from "./model-repository";
import { isProtected, type Policy } from "./policy";
import type { VersionRecord } from "./records";

/** The version item's fields naming the audit event of its last stage change. */
export const markSets = (mark: AuditMark): Array<[Path, unknown]> => markEntries(mark);

/** The model item's attribute holding the mark of the event that last set an alias. */
export const aliasMarkAttribute = (alias: string): string => `aliasAudit:${alias}`;

type Marked = { auditSeq?: number; changeId?: string };
const stateOf = (e: AuditEvent) => (e.state ?? {}) as Record<string, unknown>;
const policyContent = (p: Policy) =>
  digest({
    protectedStages: p.protectedStages,
    protectedAliases: p.protectedAliases,
    checks: p.checks,
    updatedAt: p.updatedAt ?? null,
  });

/**
 * The registry's protected state for `keel audit verify`: every version in a protected stage,
 * every protected alias and every policy set, each with the mark of the event that made it so.
 */
export function registryAuditedState(store: MetadataStore): AuditedState {
  const repo = new ModelRepository(store, systemClock);
  return {
    async *listAuditedState(): AsyncGenerator<AuditedItem> {
      for (const model of await repo.listModels()) {
        const policyItem = await store.get(policyKey(model.id));
        const policy = await readPolicy(store, model.id);
        if (policyItem) {
          const mark = record<Marked>(policyItem);
          yield {
            label: `policy of model ${model.name}`,
            ...mark,
            names: (e) =>
              e.action === "registry.policy.set" &&
              policyContent(e.state as Policy) === policyContent(policy),
          };
        }
        const versions = new Map<number, VersionRecord & { lastAuditSeq?: number; lastChangeId?: string }>(
          (await repo.listVersions(model.id)).map((v) => [v.version, v]),
        );
        for (const v of versions.values()) {
          if (!isProtected(policy, { kind: "stage", stage: v.currentStage })) continue;
          yield {
            label: `model ${model.name} v${v.version} in ${v.currentStage}`,
            auditSeq: v.lastAuditSeq,
            changeId: v.lastChangeId,
            names: (e) =>
              e.action === "registry.version.transition" &&
              e.resource.endsWith(`/version:${v.version}`) &&
              stateOf(e).to === v.currentStage,
          };
        }
        for (const [alias, version] of Object.entries(model.aliases)) {
          if (!isProtected(policy, { kind: "alias", alias })) continue;
          const mark = (model as unknown as Record<string, Marked | undefined>)[aliasMarkAttribute(alias)];
          yield {
            label: `model ${model.name} v${version} as alias ${alias}`,
            auditSeq: mark?.auditSeq,
            changeId: mark?.changeId,
            names: (e) =>
              e.action === "registry.alias.set" &&
              stateOf(e).alias === alias &&
              stateOf(e).version === version,
          };
        }
      }
    },
  };
}
