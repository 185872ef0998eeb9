import { LlmError } from "./errors";
import type { Route } from "./routes";

/** The part of the registry's RegistryService the approval rule reads (declared here: llm does not depend on it). */
export interface RegistryApprovals {
  /** The latest approved promotion of the version into Production (or a protected alias); undefined when none. */
  productionApproval(name: string, version: string): Promise<unknown | undefined>;
  getModelVersion(name: string, version: string): Promise<{ currentStage?: string; aliases?: string[] }>;
  getPolicy(name: string): Promise<{ protectedAliases: string[] }>;
}

/** Why a registered model version may not take production traffic; undefined when it may. */
export type ProductionRefusal = (name: string, version: number) => Promise<string | undefined>;

/**
 * The registry's approval rule for routes: a version may serve only while an approved promotion
 * to Production (four-eyes, pinned digests) exists AND the version still holds that place (its
 * stage is Production, or it holds an alias the model's policy protects). A version archived or demoted after its
 * approval is refused again.
 */
export function registryProductionRefusal(registry: RegistryApprovals): ProductionRefusal {
  return async (name, version) => {
    let view: { currentStage?: string; aliases?: string[] };
    try {
      view = await registry.getModelVersion(name, String(version));
    } catch (e) {
      if ((e as { code?: string }).code === "RESOURCE_DOES_NOT_EXIST")
        return `model '${name}' version ${version} is not registered`;
      throw e;
    }
    if (!(await registry.productionApproval(name, String(version))))
      return `model '${name}' version ${version} has no approved promotion to Production`;
    const { protectedAliases } = await registry.getPolicy(name);
    const held = view.aliases?.some((a) => protectedAliases.includes(a));
    if (view.currentStage !== "Production" && !held)
      return `model '${name}' version ${version} was approved for Production but is now in stage '${view.currentStage ?? "None"}'`;
    return undefined;
  };
}

/**
 * Refuses (403) a route whose deployments name a registered model version that is not approved
 * for Production, naming the version and how to request approval. Routes without registered
 * models, or a gateway without a registry, are not checked.
 */
export async function assertRouteApproved(
  route: Route,
  refusal: ProductionRefusal | undefined,
): Promise<void> {
  if (!refusal) return;
  for (const d of route.deployments) {
    const ref = d.registeredModel;
    if (!ref) continue;
    const why = await refusal(ref.name, ref.version);
    if (why)
      throw new LlmError(
        "denied",
        `route ${route.model}: deployment '${d.id}' serves ${why}; a route may serve only versions approved for Production: ` +
          `request approval with \`keel model promote ${ref.name} ${ref.version} --stage Production\` and have another person run \`keel model approve <request id>\``,
        "model_not_approved",
        "deployments",
      );
  }
}
