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

/**
 * Stored routes re-checked while they serve: the approval state of each registered model
 * version a deployment names, cached per process. An entry is trusted for at most `maxStaleMs`
 * (then the next request through it re-reads the registry once; concurrent requests share that
 * read), and every registry change to any version clears the whole cache at once (`invalidate`,
 * wired to the registry's version listener: an archive, stage transition, alias move, deletion or
 * rename in this process takes effect on the next request). So a version that left Production
 * through another process (another Lambda instance) takes traffic for at most `maxStaleMs` more.
 * A registry read that fails refuses the version (fails closed).
 */
export class ApprovalGate {
  private readonly states = new Map<string, { why: string | undefined; at: number }>();
  private readonly reading = new Map<string, Promise<string | undefined>>();
  private generation = 0;

  constructor(
    private readonly refusal: ProductionRefusal,
    private readonly now: () => number,
    readonly maxStaleMs = 5000,
  ) {}

  /** Forgets every cached state (a registry change). */
  invalidate(): void {
    this.states.clear();
    this.reading.clear();
    this.generation++;
  }

  /** Why the version may not serve now; undefined when it may. */
  refused(name: string, version: number): Promise<string | undefined> | string | undefined {
    const k = `${name}\u0000${version}`;
    const s = this.states.get(k);
    if (s && this.now() - s.at < this.maxStaleMs) return s.why;
    let p = this.reading.get(k);
    if (!p) {
      const gen = this.generation;
      const at = this.now();
      p = this.refusal(name, version)
        .catch((e) => `model '${name}' version ${version}: its approval could not be checked (${String(e)})`)
        .then((why) => {
          if (gen === this.generation) {
            this.states.set(k, { why, at });
            this.reading.delete(k);
          }
          return why;
        });
      this.reading.set(k, p);
    }
    return p;
  }
}

/** The 403 for a route none of whose deployments may serve (each refused by the approval rule). */
export function notApproved(route: Route, reasons: string[]): LlmError {
  return new LlmError(
    "denied",
    `route ${route.model}: no deployment may serve: ${reasons.join("; ")}; a route may serve only versions approved for Production ` +
      "(request approval with `keel model promote <name> <version> --stage Production`, approved by another person)",
    "model_not_approved",
    "model",
  );
}
