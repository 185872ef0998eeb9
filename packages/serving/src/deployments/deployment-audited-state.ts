import type { AuditedItem, AuditedState } from "@keel/audit";
import type { MetadataStore } from "@keel/metadata";
import type { Deployment } from "./deployment-model";
import { deploymentDigest } from "./deployment-service";

/**
 * Serving's protected state for `keel audit verify`: every production deployment, with the mark
 * of the event that wrote its current revision, naming the digest of what it holds.
 */
export function deploymentAuditedState(store: MetadataStore): AuditedState {
  return {
    async *listAuditedState(): AsyncGenerator<AuditedItem> {
      for (const item of await store.queryAll({ pk: "DEPLOYMENTS", index: "gsi1" })) {
        const d = item.deployment as Deployment;
        if (d.environment !== "production") continue;
        yield {
          label: `deployment ${d.name} in production (revision ${d.revision})`,
          auditSeq: typeof item.auditSeq === "number" ? item.auditSeq : undefined,
          changeId: typeof item.changeId === "string" ? item.changeId : undefined,
          names: (e) =>
            e.resource === `deployment:${d.name}` &&
            e.action.startsWith("serving.deployment.") &&
            (e.state as { digest?: unknown } | undefined)?.digest === deploymentDigest(d),
        };
      }
    },
  };
}
