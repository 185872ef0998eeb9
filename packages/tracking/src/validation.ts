import { invalidParam } from "./errors";

/** MLflow's limits (mlflow/utils/validation.py), enforced before anything is written. */
export const LIMITS = {
  maxMetricsPerBatch: 1000,
  maxParamsTagsPerBatch: 100,
  maxEntitiesPerBatch: 1000,
  maxKeyLength: 250,
  maxParamValueLength: 6000,
  maxTagValueLength: 8000,
  maxExperimentTagValueLength: 5000,
  maxExperimentNameLength: 500,
  maxRunNameLength: 250,
  maxSearchResults: 50000,
  defaultSearchResults: 1000,
  maxDatasetInputsPerCall: 1000,
  maxBulkIntervalRuns: 100,
  /** MLflow's MAX_RESULTS_PER_RUN: both the cap and the default of get-history-bulk-interval. */
  maxBulkIntervalResults: 2500,
} as const;

// Letters, digits, underscore (Python's Unicode-aware \w, as MLflow uses), dash, period, space,
// slash, colon: MLflow's allowed name characters.
const NAME = /^[\p{L}\p{M}\p{N}_/.\- :]*$/u;

/** Rejects names that would resolve to a different name when used as a file path ("a/../b", "/a"). */
function pathNotUnique(name: string): boolean {
  if (name.startsWith("/") || name.endsWith("/")) return true;
  return name.split("/").some((seg) => seg === "" || seg === "." || seg === "..");
}

export function validateKey(kind: "Metric" | "Param" | "Tag", name: string | undefined): string {
  if (name === undefined || name === "") {
    throw invalidParam(`${kind} name cannot be empty or missing. Provide a key.`);
  }
  if (!NAME.test(name)) {
    throw invalidParam(
      `Invalid ${kind.toLowerCase()} name: '${name}'. Names may only contain alphanumerics, underscores (_), ` +
        "dashes (-), periods (.), spaces ( ), colons (:) and slashes (/).",
    );
  }
  if (pathNotUnique(name)) {
    throw invalidParam(
      `Invalid ${kind.toLowerCase()} name: '${name}'. Names may be treated as files in certain cases, and must not ` +
        "resolve to other names when treated as such.",
    );
  }
  validateLength(`${kind} key`, name, LIMITS.maxKeyLength);
  return name;
}

export function validateLength(what: string, value: string, max: number): void {
  if (value.length > max) {
    throw invalidParam(
      `${what} '${value.slice(0, 40)}…' had length ${value.length}, which exceeded length limit of ${max}`,
    );
  }
}

export function validateParam(key: string, value: string): void {
  validateKey("Param", key);
  validateLength("Param value", value, LIMITS.maxParamValueLength);
}

export function validateTag(key: string, value: string): void {
  validateKey("Tag", key);
  validateLength("Tag value", value, LIMITS.maxTagValueLength);
}

export function validateExperimentTag(key: string, value: string): void {
  validateKey("Tag", key);
  validateLength("Experiment tag value", value, LIMITS.maxExperimentTagValueLength);
}

export function validateExperimentName(name: string | undefined): string {
  if (name === undefined || name.trim() === "") {
    throw invalidParam("Invalid experiment name: ''. Experiment name must be a non-empty string.");
  }
  validateLength("Experiment name", name, LIMITS.maxExperimentNameLength);
  return name;
}

export function validateMaxResults(n: number | undefined, fallback: number, max: number): number {
  if (n === undefined) return fallback;
  if (n <= 0 || n > max) {
    throw invalidParam(
      `Invalid value ${n} for parameter 'max_results' supplied. It must be between 1 and ${max}.`,
    );
  }
  return n;
}

export function validateStep(step: number, timestamp: number): void {
  if (!Number.isSafeInteger(step)) throw invalidParam(`Metric step ${step} is not a safe integer`);
  if (!Number.isSafeInteger(timestamp))
    throw invalidParam(`Metric timestamp ${timestamp} is not a safe integer`);
}

/** Keys appearing twice with different values in one batch (MLflow rejects duplicate params). */
export function duplicateKeys(entries: Array<{ key: string; value: string }>): string[] {
  const seen = new Map<string, string>();
  const dups = new Set<string>();
  for (const e of entries) {
    const prev = seen.get(e.key);
    if (prev !== undefined && prev !== e.value) dups.add(e.key);
    seen.set(e.key, e.value);
  }
  return [...dups];
}
