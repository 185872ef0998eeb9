import { registryErrors } from "./errors";

/** MLflow's stages, in the spelling the API returns. Input is matched case-insensitively. */
export const STAGES = ["None", "Staging", "Production", "Archived"] as const;
export type Stage = (typeof STAGES)[number];

/** A registered model as stored: keyed by an immutable id, so a rename touches one item. */
export interface ModelRecord {
  id: string;
  name: string;
  description: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string;
  tags: Record<string, string>;
  /** alias -> version number */
  aliases: Record<string, number>;
}

export interface VersionRecord {
  modelId: string;
  version: number;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string;
  currentStage: Stage;
  description: string;
  source: string;
  /** Where the artifacts are read from (the run's artifact location for runs:/ sources). */
  storageLocation: string;
  runId: string;
  runLink: string;
  tags: Record<string, string>;
  /** Human-written parts of the model card. */
  intendedUse?: string;
  limitations?: string;
}

/** A version as the service returns it: with its model's current name and its aliases. */
export interface ModelVersionView extends VersionRecord {
  name: string;
  aliases: string[];
}

/** Where a promotion moves a version. */
export type Target = { kind: "stage"; stage: Stage } | { kind: "alias"; alias: string };

export function targetLabel(t: Target): string {
  return t.kind === "stage" ? `stage '${t.stage}'` : `alias '${t.alias}'`;
}

export function targetKey(t: Target): string {
  return t.kind === "stage" ? `stage:${t.stage}` : `alias:${t.alias}`;
}

export function parseStage(s: string): Stage {
  const found = STAGES.find((x) => x.toLowerCase() === s.trim().toLowerCase());
  if (!found) throw registryErrors.invalid(`invalid stage '${s}': must be one of ${STAGES.join(", ")}`);
  return found;
}

export function validateModelName(name: string): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw registryErrors.invalid("registered model name must be a non-empty string");
  }
  if (name.length > 256) throw registryErrors.invalid("registered model name must be at most 256 characters");
  if (name.includes("\u0000")) throw registryErrors.invalid("registered model name must not contain NUL");
  return name;
}

/** MLflow's alias rules: not 'latest', not shaped like a version ('v12'), at most 255 characters. */
export function validateAlias(alias: string): string {
  if (!alias || alias.trim() === "") throw registryErrors.invalid("alias must be a non-empty string");
  if (alias.length > 255) throw registryErrors.invalid("alias must be at most 255 characters");
  if (alias.toLowerCase() === "latest") throw registryErrors.invalid("'latest' is a reserved alias");
  if (/^v\d+$/i.test(alias))
    throw registryErrors.invalid(`alias '${alias}' looks like a version reference (v<number>)`);
  if (!/^[\w\-.]+$/.test(alias)) {
    throw registryErrors.invalid(`alias '${alias}' may only contain letters, digits, '_', '-' and '.'`);
  }
  return alias;
}

/**
 * An alias about to be created (or protected by a policy): besides MLflow's rules, it may not
 * be named like a stage, so `Production` always means the stage wherever a reference is resolved.
 */
export function validateNewAlias(alias: string): string {
  validateAlias(alias);
  if (STAGES.some((s) => s.toLowerCase() === alias.toLowerCase())) {
    throw registryErrors.invalid(
      `alias '${alias}' is a stage name (${STAGES.join(", ")}, in any case): a stage-named alias would shadow the stage`,
    );
  }
  return alias;
}

export function parseVersion(v: string | number): number {
  const n =
    typeof v === "number" ? v : /^\d+$/.test(String(v).trim()) ? Number(String(v).trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw registryErrors.invalid(`invalid model version '${v}': must be a positive integer`);
  }
  return n;
}

export function validateTag(key: string, value?: string): void {
  if (!key || key.length > 250) throw registryErrors.invalid("tag key must be 1..250 characters");
  if (value !== undefined && value.length > 5000) {
    throw registryErrors.invalid(`tag '${key}': value must be at most 5000 characters`);
  }
}
