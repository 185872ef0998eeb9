import { type DatasetSummary, searchDatasets } from "./dataset-search";
import { EvalDatasetService } from "./eval-datasets/eval-dataset-service";
import { ExperimentService } from "./experiment-service";
import { LoggedModelService } from "./logged-models/logged-model-service";
import { type BulkHistoryRequest, getMetricHistoryBulk, type MetricWithRunId } from "./metric-history-bulk";
import { RunLogging } from "./run-logging";
import { RunService } from "./run-service";
import type {
  CreateExperimentRequest,
  CreateRunRequest,
  DeleteExperimentTagRequest,
  DeleteTagRequest,
  Experiment,
  GetMetricHistoryBulkIntervalRequest,
  GetMetricHistoryRequest,
  ListArtifactsRequest,
  LogBatchRequest,
  LogInputsRequest,
  LogMetricRequest,
  LogModelRequest,
  LogParamRequest,
  Metric,
  Run,
  RunInfo,
  SearchExperimentsRequest,
  SearchRunsRequest,
  SetExperimentTagRequest,
  SetTagRequest,
  UpdateExperimentRequest,
  UpdateRunRequest,
} from "./schemas";
import { ScorerService } from "./scorers/scorer-service";
import { TraceRecorder } from "./traces/trace-recorder";
import { TraceService } from "./traces/trace-service";
import { TrackingContext, type TrackingDeps } from "./tracking-context";
import { TrackingSearch } from "./tracking-search";

/**
 * The tracking service: MLflow's tracking API as methods that take the REST request JSON
 * (typed for in-process callers, and validated here all the same, so they get the checks HTTP
 * gets) and return the REST response object. Errors are TrackingErrors with MLflow's codes:
 * RESOURCE_DOES_NOT_EXIST for unknown ids and names, INVALID_PARAMETER_VALUE for bad input. Every write records the principal; lifecycle changes go to the audit log.
 */
export class TrackingService {
  private readonly ctx: TrackingContext;
  private readonly experiments: ExperimentService;
  private readonly runs: RunService;
  private readonly logging: RunLogging;
  private readonly search: TrackingSearch;
  /** MLflow Tracing (2.x and 3.x trace APIs). */
  readonly traces: TraceService;
  /** Records server-side calls (the LLM gateway's) as MLflow traces with token usage and cost. */
  readonly traceRecorder: TraceRecorder;
  /** MLflow 3 logged models. */
  readonly loggedModels: LoggedModelService;
  /** MLflow 3 scorers (registered evaluation judges). */
  readonly scorers: ScorerService;
  /** MLflow 3 evaluation datasets. */
  readonly evalDatasets: EvalDatasetService;

  constructor(deps: TrackingDeps) {
    this.ctx = new TrackingContext(deps);
    this.experiments = new ExperimentService(this.ctx);
    this.runs = new RunService(this.ctx);
    this.logging = new RunLogging(this.ctx);
    this.search = new TrackingSearch(this.ctx);
    this.traces = new TraceService(this.ctx);
    this.traceRecorder = new TraceRecorder(this.traces, deps.artifacts);
    this.loggedModels = new LoggedModelService(this.ctx);
    this.scorers = new ScorerService(this.ctx);
    this.evalDatasets = new EvalDatasetService(this.ctx);
  }

  /** Where a new experiment's artifacts go: S3 in AWS, the artifact proxy scheme locally. */
  artifactLocationFor(experimentId: string): string {
    return this.ctx.artifactLocationFor(experimentId);
  }

  /** Creates the Default experiment "0" on first use. */
  ensureDefaultExperiment(): Promise<void> {
    return this.ctx.ensureDefaultExperiment();
  }

  createExperiment(r: CreateExperimentRequest): Promise<{ experiment_id: string }> {
    return this.experiments.createExperiment(r);
  }

  getExperiment(id: string): Promise<{ experiment: Experiment }> {
    return this.experiments.getExperiment(id);
  }

  getExperimentByName(name: string): Promise<{ experiment: Experiment }> {
    return this.experiments.getExperimentByName(name);
  }

  updateExperiment(r: UpdateExperimentRequest): Promise<Record<string, never>> {
    return this.experiments.updateExperiment(r);
  }

  deleteExperiment(id: string): Promise<Record<string, never>> {
    return this.experiments.deleteExperiment(id);
  }

  restoreExperiment(id: string): Promise<Record<string, never>> {
    return this.experiments.restoreExperiment(id);
  }

  setExperimentTag(r: SetExperimentTagRequest): Promise<Record<string, never>> {
    return this.experiments.setExperimentTag(r);
  }

  deleteExperimentTag(r: DeleteExperimentTagRequest): Promise<Record<string, never>> {
    return this.experiments.deleteExperimentTag(r);
  }

  searchExperiments(
    r: SearchExperimentsRequest,
  ): Promise<{ experiments?: Experiment[]; next_page_token?: string }> {
    return this.search.searchExperiments(r);
  }

  createRun(r: CreateRunRequest): Promise<{ run: Run }> {
    return this.runs.createRun(r);
  }

  getRun(runId: string): Promise<{ run: Run }> {
    return this.runs.getRun(runId);
  }

  updateRun(r: UpdateRunRequest): Promise<{ run_info: RunInfo }> {
    return this.runs.updateRun(r);
  }

  deleteRun(runId: string): Promise<Record<string, never>> {
    return this.runs.deleteRun(runId);
  }

  restoreRun(runId: string): Promise<Record<string, never>> {
    return this.runs.restoreRun(runId);
  }

  listArtifacts(
    r: ListArtifactsRequest,
  ): Promise<{ root_uri: string; files?: Array<{ path: string; is_dir: boolean; file_size?: number }> }> {
    return this.runs.listArtifacts(r);
  }

  logMetric(r: LogMetricRequest): Promise<Record<string, never>> {
    return this.logging.logMetric(r);
  }

  logParam(r: LogParamRequest): Promise<Record<string, never>> {
    return this.logging.logParam(r);
  }

  setTag(r: SetTagRequest): Promise<Record<string, never>> {
    return this.logging.setTag(r);
  }

  deleteTag(r: DeleteTagRequest): Promise<Record<string, never>> {
    return this.logging.deleteTag(r);
  }

  logBatch(r: LogBatchRequest): Promise<Record<string, never>> {
    return this.logging.logBatch(r);
  }

  logInputs(r: LogInputsRequest): Promise<Record<string, never>> {
    return this.logging.logInputs(r);
  }

  logModel(r: LogModelRequest): Promise<Record<string, never>> {
    return this.logging.logModel(r);
  }

  searchRuns(r: SearchRunsRequest): Promise<{ runs?: Run[]; next_page_token?: string }> {
    return this.search.searchRuns(r);
  }

  getMetricHistory(r: GetMetricHistoryRequest): Promise<{ metrics?: Metric[]; next_page_token?: string }> {
    return this.search.getMetricHistory(r);
  }

  getMetricHistoryBulkInterval(
    r: GetMetricHistoryBulkIntervalRequest,
  ): Promise<{ metrics?: Array<Metric & { run_id: string }> }> {
    return this.search.getMetricHistoryBulkInterval(r);
  }

  /** The MLflow UI's `metrics/get-history-bulk`: every point of a metric for several runs. */
  getMetricHistoryBulk(r: BulkHistoryRequest): Promise<{ metrics: MetricWithRunId[] }> {
    return getMetricHistoryBulk(this.ctx, r);
  }

  /** The MLflow UI's `experiments/search-datasets`: the datasets logged to experiments' runs. */
  searchDatasets(experimentIds: string[] | undefined): Promise<{ dataset_summaries: DatasetSummary[] }> {
    return searchDatasets(this.ctx, experimentIds);
  }
}
