import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AppendColumn, Row } from "@keel/features";
import { rowsToParquetFile } from "./parquet";

const HOUR = 3_600_000;

export const DRIVER_COLUMNS: AppendColumn[] = [
  { name: "driver_id", type: "INT64" },
  { name: "event_timestamp", type: "TIMESTAMP" },
  { name: "created", type: "TIMESTAMP" },
  { name: "conv_rate", type: "DOUBLE" },
  { name: "acc_rate", type: "DOUBLE" },
  { name: "avg_daily_trips", type: "INT64" },
];

const DEFINITIONS = `import { entity, featureService, featureView, fileSource, pushSource } from "@keel/features";

export const driver = entity({ name: "driver", joinKey: "driver_id", valueType: "int64" });
export const customer = entity({ name: "customer", joinKey: "customer_id", valueType: "string" });

export const driverStats = fileSource({
  name: "driver_stats_source",
  path: "data/driver_stats/",
  timestampField: "event_timestamp",
  createdTimestampColumn: "created",
});
export const driverStatsPush = pushSource({ name: "driver_stats_push", batchSource: "driver_stats_source" });
export const customerProfiles = fileSource({ name: "customer_source", path: "data/customers.parquet" });

export const driverHourlyStats = featureView({
  name: "driver_hourly_stats",
  entities: ["driver"],
  schema: [
    { name: "conv_rate", dtype: "float64" },
    { name: "acc_rate", dtype: "float64" },
    { name: "avg_daily_trips", dtype: "int64" },
  ],
  ttlSeconds: 86400,
  source: "driver_stats_push",
  owner: "risk-ml@bank.example",
  tags: { team: "risk" },
});
export const customerProfile = featureView({
  name: "customer_profile",
  entities: ["customer"],
  schema: [
    { name: "credit_score", dtype: "int64" },
    { name: "segment", dtype: "string" },
  ],
  ttlSeconds: 0,
  source: "customer_source",
});

export const driverActivity = featureService({
  name: "driver_activity",
  features: ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"],
});
`;

/**
 * A feature repository as a new user writes one (definitions.ts + Parquet data), under the
 * repo's git-ignored .tmp/ so its `@keel/features` import resolves. Driver 1001 has three
 * hourly rows (two with the same event time, told apart by `created`), 1002 one, 1003 only a
 * row older than the view's one-day ttl.
 */
export function createDriverRepo(now: number) {
  const dir = resolve(import.meta.dirname, "../../..", ".tmp", `features-repo-${process.pid}-${Date.now()}`);
  mkdirSync(join(dir, "data/driver_stats"), { recursive: true });
  writeFileSync(join(dir, "definitions.ts"), DEFINITIONS);
  const t = (h: number) => new Date(now - h * HOUR);
  const driverRows: Row[] = [
    {
      driver_id: 1001,
      event_timestamp: t(3),
      created: t(3),
      conv_rate: 0.1,
      acc_rate: 0.9,
      avg_daily_trips: 10,
    },
    {
      driver_id: 1001,
      event_timestamp: t(2),
      created: t(2),
      conv_rate: 0.2,
      acc_rate: 0.8,
      avg_daily_trips: 20,
    },
    {
      driver_id: 1001,
      event_timestamp: t(2),
      created: t(1.5),
      conv_rate: 0.25,
      acc_rate: 0.75,
      avg_daily_trips: 25,
    },
    {
      driver_id: 1002,
      event_timestamp: t(5),
      created: null,
      conv_rate: 0.5,
      acc_rate: null,
      avg_daily_trips: 50,
    },
    {
      driver_id: 1003,
      event_timestamp: t(72),
      created: null,
      conv_rate: 0.7,
      acc_rate: 0.3,
      avg_daily_trips: 70,
    },
  ];
  rowsToParquetFile(join(dir, "data/driver_stats/part-0.parquet"), DRIVER_COLUMNS, driverRows);
  rowsToParquetFile(
    join(dir, "data/customers.parquet"),
    [
      { name: "customer_id", type: "STRING" },
      { name: "event_timestamp", type: "TIMESTAMP" },
      { name: "credit_score", type: "INT64" },
      { name: "segment", type: "STRING" },
    ],
    [
      { customer_id: "c1", event_timestamp: t(1000), credit_score: 700, segment: "gold" },
      { customer_id: "c2", event_timestamp: t(10), credit_score: 550, segment: null },
    ],
  );
  return { dir, hour: t, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
