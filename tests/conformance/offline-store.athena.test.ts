import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { StartQueryExecutionCommandInput } from "@aws-sdk/client-athena";
import { AthenaOfflineStore } from "@keel/features";
import { expect, it } from "vitest";
import { FakeAws } from "../features/helpers/fake-aws";
import { readParquetRows, rowsToParquetFile } from "../features/helpers/parquet";
import { offlineStoreSuite } from "./offline-store.suite";

const DB = "keel_test_features";
let lastFake: FakeAws | undefined;

// Athena and S3 are faked (tests/features/helpers/fake-aws.ts): the adapter's SQL runs on
// DuckDB, and every request it sends is recorded with the SDK's input types.
offlineStoreSuite(
  "Athena (AWS faked: its SQL runs on DuckDB)",
  async () => {
    const root = mkdtempSync(join(tmpdir(), "keel-athena-"));
    const fake = new FakeAws(root);
    lastFake = fake;
    const store = new AthenaOfflineStore({
      database: DB,
      workgroup: "keel-test-features",
      stagingUri: "s3://staging/keel/",
      athena: fake.athena,
      s3: fake.s3,
      pollMs: 1,
    });
    let n = 0;
    const put = (
      uri: string,
      columns: Parameters<typeof rowsToParquetFile>[1],
      rows: Parameters<typeof rowsToParquetFile>[2],
    ) => {
      const file = fake.localPath(uri);
      mkdirSync(dirname(file), { recursive: true });
      rowsToParquetFile(file, columns, rows);
    };
    return {
      store,
      async source(name, columns, rows, extra) {
        const prefix = `s3://lake/${name}-${++n}/`;
        put(`${prefix}part-0.parquet`, columns, rows);
        // A source's Glue table is named after it; a second source of the same name replaces it.
        await fake.createGlueTable(DB, name, prefix);
        return {
          kind: "file_source",
          name,
          path: prefix,
          timestampField: "event_timestamp",
          description: "",
          tags: {},
          ...extra,
        };
      },
      async entityFile(columns, rows) {
        const uri = `s3://lake/entities-${++n}.parquet`;
        put(uri, columns, rows);
        return uri;
      },
      outPath: () => `s3://lake/out-${++n}/`,
      readOut: (path) => readParquetRows(`${fake.localPath(path)}*.parquet`),
      async close() {
        await fake.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
  { propertyRuns: 10 },
);

it("sent Athena requests of the documented shape, and dropped every staged entity table", () => {
  const reqs = lastFake?.requests ?? [];
  const starts = reqs
    .filter((r) => r.command === "StartQueryExecution")
    .map((r) => r.input as StartQueryExecutionCommandInput);
  expect(starts.length).toBeGreaterThan(0);
  for (const s of starts) {
    expect(s.WorkGroup).toBe("keel-test-features");
    expect(s.QueryExecutionContext).toEqual({ Catalog: "AwsDataCatalog", Database: DB });
    expect(s.ResultConfiguration?.OutputLocation).toBe("s3://staging/keel/results/");
    expect(s.ClientRequestToken?.length).toBeGreaterThanOrEqual(32);
  }
  const created = starts.filter((s) => s.QueryString?.startsWith("CREATE EXTERNAL TABLE")).length;
  const dropped = starts.filter((s) => s.QueryString?.startsWith("DROP TABLE")).length;
  expect(created).toBeGreaterThan(0);
  expect(dropped).toBe(created);
  const meta = reqs.find((r) => r.command === "GetTableMetadata")?.input as Record<string, string>;
  expect(meta.CatalogName).toBe("AwsDataCatalog");
  expect(meta.DatabaseName).toBe(DB);
  const puts = reqs.filter((r) => r.command === "PutObject").map((r) => r.input as Record<string, string>);
  expect(puts.some((p) => p.Bucket === "staging" && p.Key.startsWith("keel/entities/"))).toBe(true);
  expect(puts.some((p) => p.Bucket === "lake" && /\/push-\d+-[0-9a-f-]+\.parquet$/.test(p.Key))).toBe(true);
});

it("declares a source's Glue table in place (create if missing, then replace its columns)", async () => {
  const fake = new FakeAws(mkdtempSync(join(tmpdir(), "keel-athena-ddl-")));
  const store = new AthenaOfflineStore({
    database: DB,
    workgroup: "wg",
    stagingUri: "s3://staging/",
    athena: fake.athena,
    s3: fake.s3,
    pollMs: 1,
  });
  const source = {
    kind: "file_source" as const,
    name: "tx",
    path: "s3://lake/tx/",
    timestampField: "ts",
    description: "",
    tags: {},
  };
  await store.registerSource(source, [
    { name: "card_id", type: "VARCHAR" },
    { name: "ts", type: "TIMESTAMP" },
    { name: "amount", type: "DOUBLE" },
  ]);
  const sql = fake.requests
    .filter((r) => r.command === "StartQueryExecution")
    .map((r) => (r.input as { QueryString: string }).QueryString);
  expect(sql).toEqual([
    "CREATE EXTERNAL TABLE IF NOT EXISTS `keel_test_features`.`tx` (`card_id` string, `ts` timestamp, `amount` double) STORED AS PARQUET LOCATION 's3://lake/tx/'",
    "ALTER TABLE `keel_test_features`.`tx` REPLACE COLUMNS (`card_id` string, `ts` timestamp, `amount` double)",
  ]);
  await expect(store.registerSource({ ...source, path: "s3://lake/tx.parquet" }, [])).rejects.toThrow(
    /must be an s3:\/\/ prefix/,
  );
  await fake.close();
  rmSync(fake.root, { recursive: true, force: true });
});
