import type { AuditedItem, AuditedState } from "@keel/audit";
import type { Item, MetadataStore } from "@keel/metadata";
import { backendDigest, type RegisteredBackend } from "./backend-registry";
import type { Deployment } from "./deployment-model";
import { deploymentDigest } from "./deployment-service";

/**
 * Serving's protected state for `keel audit verify`: every production deployment and registered
 * backend, with the mark of the event that wrote it, which names the digest of what it holds.
 */
export function deploymentAuditedState(store: MetadataStore): AuditedState {
  return {
    async *listAuditedState(): AsyncGenerator<AuditedItem> {
      for (const item of await store.queryAll({ pk: "DEPLOYMENTS", index: "gsi1" })) {
        const d = item.deployment as Deployment;
        if (d.environment !== "production") continue;
        yield {
          label: `deployment ${d.name} in production (revision ${d.revision})`,
          ...marked(item),
          names: (e) =>
            e.resource === `deployment:${d.name}` &&
            e.action.startsWith("serving.deployment.") &&
            (e.state as { digest?: unknown } | undefined)?.digest === deploymentDigest(d),
        };
      }
      // Registered backends decide where production traffic may go.
      for (const item of await store.queryAll({ pk: "BACKENDS", index: "gsi1" })) {
        const b = item.backend as RegisteredBackend;
        yield {
          label: `backend ${b.name}`,
          ...marked(item),
          names: (e) =>
            e.resource === `backend:${b.name}` &&
            (e.state as { digest?: unknown } | undefined)?.digest === backendDigest(b),
        };
      }
    },
  };
}

function marked(item: Item): { auditSeq?: number; changeId?: string } {
  return {
    auditSeq: typeof item.auditSeq === "number" ? item.auditSeq : undefined,
    changeId: typeof item.changeId === "string" ? item.changeId : undefined,
  };
}
