import { entity, featureService, featureView, fileSource, repoFromDefinitions } from "@keel/features";
import { USER_FEATURES } from "../src/compute-features";

/**
 * The fraud model's feature repository (`keel features apply examples/fraud-detection/features` also
 * registers it): per-user transaction statistics over the user entity, served by `fraud_v1`.
 */
export const user = entity({
  name: "user",
  joinKey: "user_id",
  valueType: "string",
  description: "a card holder",
});

/**
 * Where the feature pipeline writes its Parquet files. An s3:// prefix, so the same definition
 * serves Athena in AWS; locally the offline store reads it under its root
 * (`<data dir>/offline/keel-examples/...`).
 */
export const USER_STATS_URI = "s3://keel-examples/fraud-detection/user_transaction_stats/";

export const userTransactionStatsSource = fileSource({
  name: "user_transaction_stats_source",
  path: USER_STATS_URI,
  timestampField: "event_timestamp",
  createdTimestampColumn: "created_timestamp",
  description: "trailing-window aggregates per user, one row per transaction",
});

export const userTransactionStats = featureView({
  name: "user_transaction_stats",
  entities: ["user"],
  schema: USER_FEATURES.map((name) => ({ name, dtype: "float64" as const })),
  ttlSeconds: 30 * 86_400,
  source: "user_transaction_stats_source",
  owner: "fraud-ml@bank.example",
  tags: { team: "fraud" },
});

/** The model's inputs, in the order the model takes them (the router builds its tensor in this order). */
export const fraudV1 = featureService({
  name: "fraud_v1",
  features: USER_FEATURES.map((f) => `user_transaction_stats:${f}`),
  owner: "fraud-ml@bank.example",
});

/** The repository as `POST /api/v1/features/apply` takes it. */
export const fraudFeatureRepo = () =>
  repoFromDefinitions([user, userTransactionStatsSource, userTransactionStats, fraudV1]);
