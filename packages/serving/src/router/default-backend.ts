import type { ServingConfig } from "@keel/core";
import type { BackendSpec } from "./backends/inference-backend";

/** The backend that versions deployed with the default ("local") backend use when no model server runs in process. */
export function defaultBackendOf(c: ServingConfig): BackendSpec | undefined {
  if (c.backend === "kserve" && c.servingUrl) return { type: "kserve", url: c.servingUrl };
  if (c.backend === "sagemaker" && c.sagemakerEndpoint)
    return { type: "sagemaker", endpoint: c.sagemakerEndpoint };
  return undefined;
}
