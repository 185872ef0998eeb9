import type { ArtifactStore } from "@keel/artifacts";
import { buildLineage, type LineageGraph } from "./lineage";
import { buildCard, renderHtml, renderMarkdown } from "./model-card";
import type { DeploymentLister } from "./ports";
import type { ModelRecord } from "./records";
import type { RegistryService } from "./registry-service";

export type CardFormat = "markdown" | "html";

/**
 * Where a version's card is stored in the artifact store (under the model's immutable id): the
 * `evidence/` prefix, which the artifact API lets only auditors and deployers read and nobody delete.
 */
export function cardPath(modelId: string, version: number, format: CardFormat): string {
  return `evidence/models/${modelId}/versions/${version}/model-card.${format === "html" ? "html" : "md"}`;
}

/**
 * Lineage graphs and model cards, both derived from the registry, the source run (through
 * the RunReader), the promotion history and the deployments. Cards are stored as artifacts
 * and rewritten whenever the version changes, and whenever a read finds them out of date.
 */
export class ProvenanceService {
  constructor(
    private readonly registry: RegistryService,
    private readonly artifacts: ArtifactStore,
    private readonly deployments?: DeploymentLister,
  ) {}

  async lineage(name: string, version: string | number): Promise<LineageGraph> {
    const model = await this.registry.getModel(name);
    return (await this.lineageOf(model, (await this.registry.versionOf(model, version)).version)).graph;
  }

  private async lineageOf(model: ModelRecord, version: number) {
    const v = this.registry.view(model, await this.registry.versionOf(model, version));
    let runNote: string | undefined;
    const run = await this.registry.governance.readRun(v.runId);
    if (!run)
      runNote = v.runId ? `source run ${v.runId} is not available` : "the version names no source run";
    const promotions = (await this.registry.governance.listRequests(model.id)).filter(
      (p) => p.version === version,
    );
    const deployments = (await this.deployments?.listDeployments(model.name, version)) ?? [];
    return {
      v,
      run,
      promotions,
      deployments,
      graph: buildLineage({ version: v, run, runNote, promotions, deployments }),
    };
  }

  /** Regenerates both renderings and stores those that changed; returns them. */
  async refreshCard(model: ModelRecord, version: number): Promise<Record<CardFormat, string>> {
    const { v, run, promotions, deployments, graph } = await this.lineageOf(model, version);
    const doc = buildCard({ version: v, run, lineage: graph, promotions, deployments });
    const rendered: Record<CardFormat, string> = { markdown: renderMarkdown(doc), html: renderHtml(doc) };
    for (const format of ["markdown", "html"] as const) {
      const path = cardPath(model.id, version, format);
      const current = (await this.artifacts.exists(path))
        ? (await this.artifacts.getBytes(path)).toString("utf8")
        : "";
      if (current !== rendered[format]) await this.artifacts.put(path, Buffer.from(rendered[format], "utf8"));
    }
    return rendered;
  }

  async card(name: string, version: string | number, format: CardFormat): Promise<string> {
    const model = await this.registry.getModel(name);
    const v = await this.registry.versionOf(model, version);
    return (await this.refreshCard(model, v.version))[format];
  }
}
