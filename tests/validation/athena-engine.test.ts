import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandInput,
  type GetQueryResultsCommandInput,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
  StopQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import type { GetObjectCommandInput, ListObjectsV2CommandInput } from "@aws-sdk/client-s3";
import { FsArtifactStore } from "@keel/artifacts";
import type { StepContext } from "@keel/pipelines";
import {
  AthenaValidationEngine,
  DuckDbValidationEngine,
  defineExpectations,
  evaluateSuite,
  lambdaValidateStepKind,
  runAthenaQuery,
  type ValidationReport,
} from "@keel/validation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationFakeAws } from "./athena-fake";
import { writeTransactions } from "./helpers";

const NOW = Date.UTC(2026, 11, 7, 12);
const DB = "keel_test_validation";
const WORKGROUP = "keel-test-validation";

/** Every expectation kind, the multi-column key and both severities. */
const suite = defineExpectations({
  name: "transactions",
  expectations: [
    {
      kind: "schema",
      columns: {
        txn_id: { type: "integer", nullable: false },
        user_id: { type: "string", nullable: false },
        amount: { type: "number", nullable: false },
        country: { type: "string" },
        event_timestamp: { type: "timestamp", nullable: false },
      },
    },
    { kind: "range", column: "amount", min: 0, max: 1000 },
    { kind: "range", name: "amount_small", column: "amount", max: 500, severity: "warn" },
    { kind: "in_set", column: "country", values: ["US", "GB", "FR"] },
    { kind: "in_set", name: "country_eu", column: "country", values: ["GB", "FR"], severity: "warn" },
    { kind: "unique", columns: ["txn_id"] },
    { kind: "unique", name: "user_country", columns: ["user_id", "country"], severity: "warn" },
    { kind: "null_rate", column: "user_id", max: 0.05 },
    { kind: "row_count", min: 100, max: 1_000_000 },
    { kind: "freshness", column: "event_timestamp", maxAgeSeconds: 3600 },
    {
      kind: "freshness",
      name: "fresh_minute",
      column: "event_timestamp",
      maxAgeSeconds: 30,
      severity: "warn",
    },
    { kind: "distribution", column: "amount", maxPsi: 0.25 },
  ],
});

const edges = Array.from({ length: 9 }, (_, i) => (i + 1) * 100);
const reference = {
  label: "uniform amounts",
  profile: {
    version: 1 as const,
    rows: 1000,
    features: [
      {
        name: "amount",
        edges,
        counts: Array(10).fill(100),
        mean: 500,
        std: 288,
        min: 0,
        max: 1000,
        sample: Array.from({ length: 1000 }, (_, i) => i),
      },
    ],
  },
};

const root = mkdtempSync(join(tmpdir(), "keel-validate-athena-"));
let fake: ValidationFakeAws;
const athenaEngine = () =>
  new AthenaValidationEngine({
    database: DB,
    workgroup: WORKGROUP,
    athena: fake.athenaShim,
    s3: fake.s3Reads,
    pollMs: 1,
  });

beforeAll(async () => {
  fake = new ValidationFakeAws(root);
  await writeTransactions(join(root, "lake/txns/part-0.parquet"), 3000, { nowMs: NOW });
  await writeTransactions(join(root, "lake/broken/part-0.parquet"), 3000, {
    nowMs: NOW - 86_400_000,
    broken: "amount_negative",
  });
  await writeTransactions(join(root, "lake/nulls/part-0.parquet"), 3000, {
    nowMs: NOW,
    broken: "user_nulls",
  });
});
afterAll(async () => {
  await fake.close();
  rmSync(root, { recursive: true, force: true });
});

/** Outcomes to compare across engines: pass/fail per expectation, and the observed figures. */
function outcomes(r: ValidationReport) {
  return r.results.map((x) => ({ name: x.name, passed: x.passed, observed: x.observed }));
}

function expectSameOutcomes(athena: ValidationReport, duck: ValidationReport) {
  expect(athena.rows).toBe(duck.rows);
  expect(athena.passed).toBe(duck.passed);
  expect(athena.errors).toBe(duck.errors);
  expect(athena.warnings).toBe(duck.warnings);
  const a = outcomes(athena);
  const d = outcomes(duck);
  expect(a.map((x) => [x.name, x.passed])).toEqual(d.map((x) => [x.name, x.passed]));
  for (const [i, x] of a.entries()) {
    const kind = athena.results[i].kind;
    if (kind === "distribution") {
      // Different samples (Bernoulli vs seeded reservoir): the statistic agrees within sampling error.
      expect(Math.abs(Number(x.observed.psi) - Number(d[i].observed.psi))).toBeLessThan(0.05);
      continue;
    }
    for (const [k, v] of Object.entries(x.observed)) {
      const w = d[i].observed[k];
      if (typeof v === "number" && typeof w === "number") expect(v, `${x.name}.${k}`).toBeCloseTo(w, 3);
      else expect(v, `${x.name}.${k}`).toEqual(w);
    }
  }
}

describe("the Athena validation engine", () => {
  for (const [name, prefix, now] of [
    ["a clean dataset", "txns", NOW],
    ["a dataset with negative amounts, a day old", "broken", NOW],
    ["a dataset with null users", "nulls", NOW],
  ] as const) {
    it(`gives the same outcomes as DuckDB on ${name}`, async () => {
      const duck = new DuckDbValidationEngine();
      const local = await evaluateSuite(duck, suite, join(root, `lake/${prefix}/`), { now, reference });
      await duck.close();
      const aws = await evaluateSuite(athenaEngine(), suite, `s3://lake/${prefix}/`, { now, reference });
      expectSameOutcomes(aws, local);
      if (prefix === "txns") expect(aws.passed).toBe(true);
      else expect(aws.passed).toBe(false);
    });
  }

  it("reads a Glue table (glue://<database>/<table>) with the same outcomes", async () => {
    await fake.createGlueTable(DB, "transactions_source", "s3://lake/broken/");
    const aws = await evaluateSuite(athenaEngine(), suite, `glue://${DB}/transactions_source`, {
      now: NOW,
      reference,
    });
    const duck = new DuckDbValidationEngine();
    const local = await evaluateSuite(duck, suite, join(root, "lake/broken/"), { now: NOW, reference });
    await duck.close();
    expectSameOutcomes(aws, local);
    const range = aws.results.find((r) => r.name === "amount.range")!;
    expect(range.passed).toBe(false);
    expect(range.message).toMatch(/300 values of 'amount' outside \[0, 1000\]/);
  });

  it("compiles every expectation kind to this Athena SQL", async () => {
    const before = fake.sql.length;
    await evaluateSuite(athenaEngine(), suite, "s3://lake/txns/", { now: NOW, reference });
    const sql = fake.sql
      .slice(before)
      .map((s) => s.replace(/keel_validate_[0-9a-f]{32}/g, "keel_validate_<id>"));
    expect(sql).toMatchSnapshot();
    expect(sql[0]).toMatch(/^CREATE EXTERNAL TABLE `keel_test_validation`\.`keel_validate_<id>` \(/);
    expect(sql[0]).toContain(
      "`txn_id` bigint, `user_id` string, `amount` double, `country` string, `event_timestamp` timestamp",
    );
    expect(sql[1]).toContain('count(DISTINCT ROW("user_id", "country"))');
    expect(sql[1]).toContain('to_unixtime(max(CAST("event_timestamp" AS TIMESTAMP))) * 1000');
    expect(sql[2]).toMatch(/TABLESAMPLE BERNOULLI \([0-9.]+\) LIMIT 20000$/);
    expect(sql.at(-1)).toBe("DROP TABLE IF EXISTS `keel_test_validation`.`keel_validate_<id>`");
  });

  it("sends requests of the SDK's documented shapes", () => {
    const of = <T>(c: string) => fake.requests.filter((r) => r.command === c).map((r) => r.input as T);
    const starts = of<StartQueryExecutionCommandInput>("StartQueryExecution");
    expect(starts.length).toBeGreaterThan(0);
    for (const s of starts) {
      expect(s.WorkGroup).toBe(WORKGROUP);
      expect(s.QueryExecutionContext).toEqual({ Catalog: "AwsDataCatalog", Database: DB });
      expect(s.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(starts.map((s) => s.ClientRequestToken)).size).toBe(starts.length);
    for (const g of of<GetQueryExecutionCommandInput>("GetQueryExecution"))
      expect(g.QueryExecutionId).toBeTruthy();
    for (const g of of<GetQueryResultsCommandInput>("GetQueryResults")) expect(g.MaxResults).toBe(1000);
    for (const l of of<ListObjectsV2CommandInput>("ListObjectsV2")) {
      expect(l.Bucket).toBe("lake");
      expect(l.Prefix).toMatch(/\/$/);
    }
    // The schema comes from the footer: ranged reads only, never the whole object.
    const gets = of<GetObjectCommandInput>("GetObject");
    expect(gets.length).toBeGreaterThan(0);
    for (const g of gets) expect(g.Range).toMatch(/^bytes=\d+-\d+$/);
    // Every temporary table was dropped.
    const created = fake.sql.filter((s) => s.startsWith("CREATE EXTERNAL TABLE")).length;
    const dropped = fake.sql.filter((s) => s.startsWith("DROP TABLE IF EXISTS")).length;
    expect(dropped).toBe(created);
  });

  it("refuses a single-file S3 dataset and an empty prefix, naming the dataset", async () => {
    await expect(evaluateSuite(athenaEngine(), suite, "s3://lake/txns/part-0.parquet")).rejects.toThrow(
      /cannot read dataset s3:\/\/lake\/txns\/part-0.parquet with Athena: a dataset is an s3:\/\/ prefix/,
    );
    await expect(evaluateSuite(athenaEngine(), suite, "s3://lake/nothing-here/")).rejects.toThrow(
      /no \.parquet object under the prefix/,
    );
  });
});

/** An Athena client whose query ends in the given states, in order (then stays in the last). */
function scripted(states: Array<{ State: string; StateChangeReason?: string }>) {
  const sent: string[] = [];
  let i = 0;
  return {
    sent,
    send: async (cmd: unknown) => {
      sent.push((cmd as object).constructor.name);
      if (cmd instanceof StartQueryExecutionCommand) return { QueryExecutionId: "q-1" };
      if (cmd instanceof GetQueryExecutionCommand)
        return {
          QueryExecution: { QueryExecutionId: "q-1", Status: states[Math.min(i++, states.length - 1)] },
        };
      if (cmd instanceof StopQueryExecutionCommand) return {};
      throw new Error(`unexpected ${(cmd as object).constructor.name}`);
    },
  };
}

describe("an Athena query that does not succeed", () => {
  const opts = { workgroup: WORKGROUP, database: DB, pollMs: 1, sleep: async () => {} };

  it("FAILED: throws with Athena's reason and the query id", async () => {
    const a = scripted([
      { State: "QUEUED" },
      { State: "RUNNING" },
      { State: "FAILED", StateChangeReason: "HIVE_BAD_DATA: bad" },
    ]);
    await expect(runAthenaQuery(a, "SELECT 1", opts)).rejects.toThrow(
      "Athena query q-1 FAILED: HIVE_BAD_DATA: bad",
    );
  });

  it("CANCELLED: throws naming the state", async () => {
    const a = scripted([{ State: "RUNNING" }, { State: "CANCELLED" }]);
    await expect(runAthenaQuery(a, "SELECT 1", opts)).rejects.toThrow(/Athena query q-1 CANCELLED/);
  });

  it("past the timeout: stops the query and throws DEADLINE_EXCEEDED; polls back off", async () => {
    const a = scripted([{ State: "RUNNING" }]);
    const waits: number[] = [];
    let clock = 0;
    const realNow = Date.now;
    Date.now = () => clock;
    try {
      const err = await runAthenaQuery(a, "SELECT 1", {
        ...opts,
        pollMs: 100,
        maxPollMs: 800,
        timeoutMs: 5000,
        sleep: async (ms) => {
          waits.push(ms);
          clock += ms;
        },
      }).catch((e) => e);
      expect(err.code).toBe("DEADLINE_EXCEEDED");
      expect(err.message).toMatch(/Athena query q-1 still RUNNING after 5 s: stopped it/);
    } finally {
      Date.now = realNow;
    }
    expect(a.sent.at(-1)).toBe("StopQueryExecutionCommand");
    expect(waits.slice(0, 5)).toEqual([100, 200, 400, 800, 800]);
  });

  it("fails the validate step in the step Lambda with a clear error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-validate-step-"));
    try {
      const failing = scripted([{ State: "FAILED", StateChangeReason: "Access denied to s3://lake/txns/" }]);
      const kind = lambdaValidateStepKind(() => ({
        engine: new AthenaValidationEngine({
          database: DB,
          workgroup: WORKGROUP,
          athena: failing,
          s3: fake.s3Reads,
          pollMs: 1,
        }),
      }));
      const ctx = {
        runId: "r1",
        pipeline: "p",
        step: "validate_data",
        params: {},
        inputs: {},
        artifacts: new FsArtifactStore(dir),
        artifactPrefix: "pipelines/p/r1/validate_data",
        log: () => {},
      } satisfies StepContext;
      const err = await kind.run({ suite, dataset: "s3://lake/txns/" }, ctx).catch((e) => e);
      expect(err.name).toBe("Keel.ValidationError");
      expect(err.message).toMatch(/Athena query q-1 FAILED: Access denied to s3:\/\/lake\/txns\//);
      // Unwired (the Pipelines stack's copy): a run says what is missing.
      const unwired = await lambdaValidateStepKind()
        .run({ suite, dataset: "s3://lake/txns/" }, ctx)
        .catch((e) => e);
      expect(unwired.message).toMatch(/no Athena validation engine is wired/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
