import type { ModelRegistrar } from "./controller";

/** The part of the registry's RegistryService the final registration step uses. */
export interface RegistryApi {
  getRegisteredModel(name: string): Promise<unknown>;
  createRegisteredModel(input: { name: string; description?: string }): Promise<unknown>;
  createModelVersion(input: { name: string; source: string; runId?: string; description?: string }): Promise<{
    version: number | string;
  }>;
  requestPromotion(
    name: string,
    version: string,
    // biome-ignore lint/suspicious/noExplicitAny: the registry's Target union (stage names) is narrower than a string
    target: any,
    comment?: string,
  ): Promise<{ id: string; status: string }>;
}

/** Registers the best trial's model through the registry (creating the registered model on first use). */
export function registryRegistrar(registry: RegistryApi): ModelRegistrar {
  return {
    async register(model, source, runId, description) {
      try {
        await registry.getRegisteredModel(model);
      } catch (e) {
        if ((e as { code?: string }).code !== "RESOURCE_DOES_NOT_EXIST") throw e;
        await registry.createRegisteredModel({ name: model }).catch((again) => {
          if ((again as { code?: string }).code !== "RESOURCE_ALREADY_EXISTS") throw again;
        });
      }
      const v = await registry.createModelVersion({
        name: model,
        source,
        ...(runId ? { runId } : {}),
        description,
      });
      return { version: String(v.version) };
    },
    async requestPromotion(model, version, stage, comment) {
      const p = await registry.requestPromotion(model, version, { kind: "stage", stage }, comment);
      return { id: p.id, status: p.status };
    },
  };
}
