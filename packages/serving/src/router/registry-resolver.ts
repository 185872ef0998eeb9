import { badInput } from "../errors";
import type { ModelResolver } from "../ports";

/** The registry calls the resolver uses (structurally: the registry's RegistryService). */
export interface RegistryLike {
  /** Resolves a version number, `@alias`/alias, stage name or "latest" to one version. */
  resolve(name: string, ref: string): Promise<{ version: number | string; storageLocation: string }>;
  isAllowed(name: string, version: string, target: { kind: "stage"; stage: "Production" }): Promise<boolean>;
}

const MLFLOW_ARTIFACTS = "mlflow-artifacts:/";

/**
 * A ModelResolver over the model registry: a version's storage location
 * (`mlflow-artifacts:/<exp>/<run>/artifacts/<model dir>`) names an ArtifactStore path, and
 * the ONNX file is that path when it ends in `.onnx`, else `<path>/model.onnx`. "production"
 * maps to the registry's Production stage gate.
 */
export function registryModelResolver(registry: RegistryLike): ModelResolver {
  return {
    async resolve(name, versionOrAlias) {
      const v = await registry.resolve(name, versionOrAlias);
      const loc = v.storageLocation;
      if (!loc.startsWith(MLFLOW_ARTIFACTS)) {
        throw badInput(
          `model '${name}' version ${v.version} is stored at ${loc}, outside Keel's artifact store; serve it from a model repository instead`,
        );
      }
      const path = loc.slice(MLFLOW_ARTIFACTS.length).replace(/^\/+|\/+$/g, "");
      return {
        version: String(v.version),
        artifactPath: path.endsWith(".onnx") ? path : `${path}/model.onnx`,
      };
    },
    async isAllowed(name, version, target) {
      if (target !== "production") return true;
      return registry.isAllowed(name, version, { kind: "stage", stage: "Production" }).catch(() => false);
    },
  };
}
