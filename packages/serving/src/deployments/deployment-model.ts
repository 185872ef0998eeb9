import type {
  createDeploymentSchema,
  deploymentSettingsSchema,
  shiftSchema,
  versionRefSchema,
} from "@keel/contract";
import type { z } from "zod";

/** The deployment schemas live in the contract (one declaration for the API and the service). */
export {
  analysisSchema,
  createDeploymentSchema,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_SAMPLE_RATE,
  deploymentSettingsSchema,
  MAX_RETENTION_DAYS,
  shadowSchema,
  shiftSchema,
  updateSettingsSchema,
  versionRefSchema,
} from "@keel/contract";
export type VersionRef = z.infer<typeof versionRefSchema>;
export type DeploymentSettings = z.infer<typeof deploymentSettingsSchema>;
export type CreateDeploymentInput = z.input<typeof createDeploymentSchema>;
export type ShiftInput = z.input<typeof shiftSchema>;

export interface HistoryEntry {
  time: number;
  principal: string;
  action: string;
  detail: string;
}

/** A deployment as stored: a stable version, an optional weighted canary and an optional shadow. */
export interface Deployment extends DeploymentSettings {
  name: string;
  stable: VersionRef;
  canary?: VersionRef & { weight: number };
  shadow?: VersionRef;
  revision: number;
  /** The revision at which the current stable/canary pair was set; canary analysis only counts traffic of this epoch. */
  epoch: number;
  created_at: number;
  updated_at: number;
  history: HistoryEntry[];
}

export const refLabel = (r: { model: string; version: string }) => `${r.model}@${r.version}`;
