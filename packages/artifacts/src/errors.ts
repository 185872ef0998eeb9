import { KeelError } from "@keel/core";

export class ArtifactError extends KeelError {}

/** Validates and normalizes a relative artifact path; rejects traversal and absolute paths. */
export function normalizePath(p: string, { allowRoot = false } = {}): string {
  const trimmed = p.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") {
    if (allowRoot) return "";
    throw new ArtifactError("INVALID_PARAMETER_VALUE", "artifact path must not be empty");
  }
  const parts = trimmed.split("/");
  for (const part of parts) {
    if (part === "" || part === "." || part === ".." || part.includes("\\") || part.includes("\0")) {
      throw new ArtifactError("INVALID_PARAMETER_VALUE", `invalid artifact path '${p}': no empty, '.' or '..' segments`);
    }
  }
  return parts.join("/");
}
