/**
 * Narrow interfaces for what serving needs from other areas; platform.ts wires the real
 * services (registry, feature store, monitoring) into `createServingModule`.
 */

/** The model registry as serving sees it. */
export interface ModelResolver {
  /**
   * Resolves a registered model's version or alias ("3", "champion") to its ONNX artifact.
   * Returns the concrete version and the artifact's path in the ArtifactStore.
   * Throws a KeelError RESOURCE_DOES_NOT_EXIST when the model or version is unknown.
   */
  resolve(name: string, versionOrAlias: string): Promise<{ version: string; artifactPath: string }>;
  /**
   * Whether the registry allows this version to serve in `target` ("production", "staging"):
   * e.g. approved and not archived. Never throws for an unknown version: returns false.
   */
  isAllowed(name: string, version: string, target: string): Promise<boolean>;
}

/** Feast's online-serving request, as the feature store's getOnlineFeatures takes it. */
export interface OnlineFeaturesRequest {
  feature_service?: string;
  features?: string[];
  entities: Record<string, Array<string | number>>;
  full_feature_names?: boolean;
}

/** Feast's online-serving response JSON (feature_server.py `get-online-features`). */
export interface OnlineFeaturesResponse {
  metadata: { feature_names: string[] };
  results: Array<{ values: unknown[]; statuses?: string[]; event_timestamps?: string[] }>;
}

/** The online feature store as serving sees it. */
export interface FeatureReader {
  /**
   * Reads the latest feature values for each entity row. `results[i].values[j]` is feature
   * `metadata.feature_names[i]` of entity row j; entity key columns come first, as in Feast.
   * Missing values are null with status "NOT_FOUND". Throws RESOURCE_DOES_NOT_EXIST for an
   * unknown feature service.
   */
  getOnlineFeatures(req: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse>;
  /** Feature names (as responses name them) of a feature service whose definitions are tagged `pii`. */
  piiFeatures?(featureService: string): Promise<string[]>;
}

/** One logged prediction (sampled by the router). Tensors are per-row arrays. */
export interface PredictionEntry {
  deployment: string;
  model: string;
  version: string;
  requestId: string;
  /** Milliseconds since the epoch. */
  time: number;
  latencyMs: number;
  inputs: Record<string, number[][]>;
  outputs: Record<string, number[][]>;
  explanation?: unknown;
  /** Inputs that are personal data, and how the log must keep them (the log never stores them raw). */
  pii?: { fields: string[]; mode: "pseudonymize" | "drop" };
  /** Feature (column) names of input tensors built from the feature store. */
  columns?: Record<string, string[]>;
}

/** The monitoring area's prediction log. */
export interface PredictionSink {
  /** Stores one entry. Must not throw for a well-formed entry; the router never awaits it on the caller's path. */
  record(entry: PredictionEntry): Promise<void> | void;
}

/** A version's approval for Production (or a protected alias), with the content it pinned. */
export interface ProductionApproval {
  approvedBy: string;
  approvedAt: number;
  /** SHA-256 (hex) of every artifact file under the version's source, keyed by path relative to the source. */
  digests: Record<string, string>;
  sourceUri: string;
}

/** The registry's approvals as serving sees them (production traffic only for approved bytes). */
export interface ApprovalReader {
  /** The APPROVED promotion of this version to Production or a protected alias; undefined when there is none. */
  productionApproval(model: string, version: string): Promise<ProductionApproval | undefined>;
}

/** What the registry hands a publisher after an approval: the version's files and their pinned digests. */
export interface PublishInput {
  model: string;
  version: string;
  sourceUri: string;
  digests: Record<string, string>;
}

/** Publishes an approved version to the model repository the production serving stack loads from. */
export interface ModelPublisher {
  publish(input: PublishInput): Promise<void>;
}
