/**
 * The part of `@keel/tracking`'s TrackingService that other areas write runs through, in MLflow's
 * request shapes (pipelines mirror runs, tuning logs trials, RAG logs evaluations, fine-tuning
 * records an adapter's lineage). Declared once here so those areas depend on this behaviour,
 * not on the tracking package; the TrackingService satisfies it structurally.
 */
export interface TrackingRunWriter {
  createExperiment(req: { name: string }): Promise<{ experiment_id: string }>;
  /** Throws an error with code RESOURCE_DOES_NOT_EXIST when there is none. */
  getExperimentByName(name: string): Promise<{ experiment: { experiment_id: string } }>;
  createRun(req: {
    experiment_id: string;
    run_name?: string;
    start_time?: number;
    tags?: Array<{ key: string; value: string }>;
  }): Promise<{ run: { info: { run_id: string; artifact_uri?: string } } }>;
  updateRun(req: {
    run_id: string;
    status: "RUNNING" | "FINISHED" | "FAILED" | "KILLED";
    end_time?: number;
  }): Promise<unknown>;
  logBatch(req: {
    run_id: string;
    metrics?: Array<{ key: string; value: number; timestamp: number; step: number }>;
    params?: Array<{ key: string; value: string }>;
    tags?: Array<{ key: string; value: string }>;
  }): Promise<unknown>;
}
