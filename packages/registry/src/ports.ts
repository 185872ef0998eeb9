/**
 * What the registry needs from other areas, declared here so the registry depends on no
 * other domain package's internals. platform.ts adapts the real services to these shapes.
 */

/** One run as MLflow's GetRun returns it (only the fields the registry reads are typed). */
export interface RunRecord {
  run: {
    info: {
      run_id: string;
      experiment_id: string;
      artifact_uri: string;
      user_id?: string;
      status?: string;
      run_name?: string;
      start_time?: number;
      end_time?: number;
    };
    data: {
      /** Non-finite values arrive as the strings "NaN", "Infinity", "-Infinity" (protobuf JSON). */
      metrics?: Array<{ key: string; value: number | string; timestamp?: number; step?: number }>;
      params?: Array<{ key: string; value: string }>;
      tags?: Array<{ key: string; value: string }>;
    };
    inputs?: {
      dataset_inputs?: Array<{
        dataset: {
          name: string;
          digest: string;
          source_type?: string;
          source?: string;
          schema?: string;
          profile?: string;
        };
        tags?: Array<{ key: string; value: string }>;
      }>;
    };
  };
}

export interface RunReader {
  /**
   * Returns the run with its latest metrics, params, tags and dataset inputs. Throws a
   * KeelError with code RESOURCE_DOES_NOT_EXIST when there is no such run.
   */
  getRun(runId: string): Promise<RunRecord>;
}

/** A deployment that serves a model version (as the serving area reports it). */
export interface DeploymentRef {
  name: string;
  /** e.g. "live", "canary", "shadow" */
  role?: string;
  /** Share of traffic in [0, 1], when the deployment splits traffic. */
  traffic?: number;
  endpoint?: string;
}

export interface DeploymentLister {
  /** Deployments currently serving `version` of the model `name`; empty when none. */
  listDeployments(name: string, version: number): Promise<DeploymentRef[]>;
}

/**
 * Where approved bytes go: called after a promotion into a protected stage or alias is
 * approved, with the digests the approval pinned (the serving area implements it: it copies
 * the version into the model repository Triton loads and verifies the copy). Optional.
 */
export interface ModelPublisher {
  publish(input: {
    model: string;
    version: string;
    sourceUri: string;
    digests: Record<string, string>;
  }): Promise<void>;
}

/** A version's approval for production traffic, as serving reads it before loading the bytes. */
export interface ProductionApproval {
  approvedBy: string;
  approvedAt: number;
  /** SHA-256 (hex) of every file under the version's source, by path relative to it. */
  digests: Record<string, string>;
  sourceUri: string;
}
