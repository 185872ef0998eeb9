import type { DeploymentRef } from "@keel/registry";

interface DeploymentLike {
  name: string;
  stable: { model: string; version: string };
  canary?: { model: string; version: string; weight: number };
  shadow?: { model: string; version: string };
}

/**
 * The deployments that serve one model version, with its role and traffic share, for the
 * registry's lineage graph and model cards. Canary weights are percentages in serving and
 * shares in [0, 1] in lineage.
 */
export function deploymentsServing(all: DeploymentLike[], model: string, version: string): DeploymentRef[] {
  const out: DeploymentRef[] = [];
  for (const d of all) {
    const canaryShare = d.canary ? d.canary.weight / 100 : 0;
    if (d.stable.model === model && d.stable.version === version) {
      out.push({ name: d.name, role: "stable", traffic: 1 - canaryShare });
    }
    if (d.canary && d.canary.model === model && d.canary.version === version) {
      out.push({ name: d.name, role: "canary", traffic: canaryShare });
    }
    if (d.shadow && d.shadow.model === model && d.shadow.version === version) {
      out.push({ name: d.name, role: "shadow", traffic: 0 });
    }
  }
  return out;
}
