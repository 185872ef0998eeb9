import { FsArtifactStore, S3ArtifactStore } from "@keel/artifacts";
import { loadConfig } from "@keel/core";
import { AthenaOfflineStore, CqlOnlineStore, DuckDbOfflineStore, DynamoDbOnlineStore } from "@keel/features";
import { StepFunctionsPipelineExecutor } from "@keel/pipelines";
import { MemoryScoringQueue, SqsScoringQueue } from "@keel/serving";
import { describe, expect, it } from "vitest";
import {
  createFeatureStores,
  createMetricsSink,
  createPipelineExecutor,
  createPredictionLogStore,
  createScoringQueue,
} from "./adapters";

/** The composition root picks every adapter from the config alone (nothing connects here). */
describe("adapters", () => {
  it("locally: in-process queue, no metrics sink, in-process pipelines, DynamoDB and DuckDB", () => {
    const c = loadConfig({}, { core: { dataDir: "/tmp/keel-adapters" } });
    expect(createScoringQueue(c)).toBeInstanceOf(MemoryScoringQueue);
    expect(createMetricsSink(c)).toBeUndefined();
    expect(createPipelineExecutor(c)).toBeUndefined();
    expect(createPredictionLogStore(c)).toBeUndefined();
    const stores = createFeatureStores(c);
    expect(stores.online).toBeInstanceOf(DynamoDbOnlineStore);
    expect(stores.offline).toBeInstanceOf(DuckDbOfflineStore);
  });

  it("in AWS: what the stacks' variables name", () => {
    const c = loadConfig({
      KEEL_STAGE: "prod",
      KEEL_SCORING_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/q",
      KEEL_METRICS_NAMESPACE: "Keel/Serving",
      KEEL_PIPELINE_EXECUTOR: "stepfunctions",
      KEEL_PREDICTION_LOG_ROOT: "s3://bucket/artifacts/predictions/",
      KEEL_ONLINE_STORE: "cql",
      KEEL_CQL_CONTACT_POINTS: "cassandra.us-east-1.amazonaws.com",
      KEEL_CQL_FLAVOR: "keyspaces",
      KEEL_CQL_PORT: "9142",
      KEEL_OFFLINE_ROOT: "s3://bucket/offline/",
      KEEL_GLUE_DATABASE: "keel_prod",
      KEEL_ATHENA_WORKGROUP: "keel-prod",
    });
    expect(createScoringQueue(c)).toBeInstanceOf(SqsScoringQueue);
    expect(createMetricsSink(c)).toBeDefined();
    expect(createPipelineExecutor(c)).toBeInstanceOf(StepFunctionsPipelineExecutor);
    expect(createPredictionLogStore(c)).toBeInstanceOf(S3ArtifactStore);
    const stores = createFeatureStores(c);
    expect(stores.online).toBeInstanceOf(CqlOnlineStore);
    expect((stores.online as CqlOnlineStore).clientOptions.protocolOptions?.port).toBe(9142);
    expect(stores.offline).toBeInstanceOf(AthenaOfflineStore);
  });

  it("a prediction log root that is a directory gets a filesystem store", () => {
    const c = loadConfig({ KEEL_PREDICTION_LOG_ROOT: "/tmp/keel-predictions" });
    expect(createPredictionLogStore(c)).toBeInstanceOf(FsArtifactStore);
  });
});
