import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

/**
 * MLflow's `/graphql` (the schema MLflow 2.17 serves, which its UI reads runs, experiments,
 * metric history, artifacts and datasets through), over real HTTP: graphene's names (camelCase
 * fields, int64 as strings), protobuf defaults for unset fields, and errors as MLflow answers
 * them (status 200, `errors` a list of messages).
 */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
const API = "/api/2.0/mlflow";
let exp: string;
let run1: string;
let run2: string;

const gql = async (query: string, extra: Record<string, unknown> = {}) => {
  const r = await p.call("POST", "/graphql", { query, ...extra });
  expect(r.status, r.text).toBe(200);
  // biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary GraphQL answers
  return r.json as { data: Record<string, any> | null; errors: string[] | null };
};

beforeAll(async () => {
  p = await startTestPlatform();
  exp = (await p.call("POST", `${API}/experiments/create`, { name: "GraphqlTest" })).json.experiment_id;
  run1 = (await p.call("POST", `${API}/runs/create`, { experiment_id: exp, start_time: 1000 })).json.run.info
    .run_id;
  run2 = (await p.call("POST", `${API}/runs/create`, { experiment_id: exp, start_time: 2000 })).json.run.info
    .run_id;
  for (let i = 0; i < 10; i++) {
    await p.call("POST", `${API}/runs/log-metric`, {
      run_id: run1,
      key: "m",
      value: i,
      timestamp: 5,
      step: i,
    });
  }
  await p.call("POST", `${API}/registered-models/create`, { name: "GraphqlTest" });
  await p.call("POST", `${API}/model-versions/create`, {
    name: "GraphqlTest",
    source: `mlflow-artifacts:/${exp}/${run1}/artifacts/model`,
    run_id: run1,
  });
});
afterAll(async () => {
  await p?.close();
});

describe("/graphql", () => {
  it("echoes through the test query and mutation, with the @component directive", async () => {
    const q = await gql('query testQuery @component(name: "Test") { test(inputString: "abc") { output } }', {
      operationName: "testQuery",
    });
    expect(q).toEqual({ data: { test: { output: "abc" } }, errors: null });
    const m = await gql('mutation { testMutation(inputString: "xyz") { output } }');
    expect(m.data?.testMutation.output).toBe("xyz");
  });

  it("gets an experiment, with int64 fields as strings", async () => {
    const r = await gql(
      `{ mlflowGetExperiment(input: {experimentId: "${exp}"}) { experiment { name creationTime tags { key } } apiError { code } } }`,
    );
    expect(r.errors).toBeNull();
    const e = r.data?.mlflowGetExperiment;
    expect(e.experiment.name).toBe("GraphqlTest");
    expect(e.experiment.creationTime).toMatch(/^\d+$/);
    expect(e.experiment.tags).toEqual([]);
    expect(e.apiError).toBeNull();
  });

  it("gets a run with its experiment and model versions", async () => {
    const r = await gql(`{ mlflowGetRun(input: {runId: "${run1}"}) { run {
      info { status startTime endTime } experiment { name } modelVersions { name version status } } } }`);
    expect(r.errors).toBeNull();
    const run = r.data?.mlflowGetRun.run;
    expect(run.info).toEqual({ status: "RUNNING", startTime: "1000", endTime: "0" });
    expect(run.experiment.name).toBe("GraphqlTest");
    expect(run.modelVersions).toEqual([{ name: "GraphqlTest", version: "1", status: "READY" }]);
  });

  it("searches runs (a mutation in MLflow's schema), newest first", async () => {
    const r = await gql(
      `mutation { mlflowSearchRuns(input: { experimentIds: ["${exp}"] }) { runs { info { runId } } } }`,
    );
    expect(r.data?.mlflowSearchRuns.runs).toEqual([{ info: { runId: run2 } }, { info: { runId: run1 } }]);
  });

  it("samples metric history like the REST endpoint", async () => {
    const r = await gql(
      `{ mlflowGetMetricHistoryBulkInterval(input: { runIds: ["${run1}"], metricKey: "m" }) { metrics { key step value runId } } }`,
    );
    expect(r.data?.mlflowGetMetricHistoryBulkInterval.metrics).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ key: "m", step: String(i), value: i, runId: run1 })),
    );
  });

  it("lists artifacts with protobuf defaults for directories (fileSize '0')", async () => {
    const up = (path: string) =>
      fetch(`${p.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${run2}&path=${path}`, {
        method: "POST",
        body: "hello world",
      });
    expect((await up("test.txt")).status).toBe(200);
    expect((await up("testDir/test.txt")).status).toBe(200);
    const r = await gql(`fragment F on MlflowListArtifactsResponse { files { path isDir fileSize } }
      query { file: mlflowListArtifacts(input: { runId: "${run2}" }) { ...F }
              subdir: mlflowListArtifacts(input: { runId: "${run2}", path: "testDir" }) { ...F } }`);
    expect(r.data?.file.files).toEqual([
      { path: "test.txt", isDir: false, fileSize: "11" },
      { path: "testDir", isDir: true, fileSize: "0" },
    ]);
    expect(r.data?.subdir.files).toEqual([{ path: "testDir/test.txt", isDir: false, fileSize: "11" }]);
  });

  it("searches datasets; an input without a context tag has context ''", async () => {
    const dataset = (name: string, digest: string) => ({
      name,
      digest,
      source_type: "script",
      source: "test",
    });
    await p.call("POST", `${API}/runs/log-inputs`, {
      run_id: run2,
      datasets: [
        { dataset: dataset("d1", "12345"), tags: [] },
        { dataset: dataset("d2", "12346"), tags: [{ key: "mlflow.data.context", value: "training" }] },
      ],
    });
    const r = await gql(
      `mutation { mlflowSearchDatasets(input: { experimentIds: ["${exp}"] }) { datasetSummaries { experimentId name digest context } } }`,
    );
    const got = [...(r.data?.mlflowSearchDatasets.datasetSummaries ?? [])].sort((a, b) =>
      a.digest.localeCompare(b.digest),
    );
    expect(got).toEqual([
      { experimentId: exp, name: "d1", digest: "12345", context: "" },
      { experimentId: exp, name: "d2", digest: "12346", context: "training" },
    ]);
  });

  it("answers resolver errors with status 200, the field null and MLflow's message", async () => {
    const r = await gql('{ mlflowGetExperiment(input: {experimentId: "999999"}) { experiment { name } } }');
    expect(r.data).toEqual({ mlflowGetExperiment: null });
    expect(r.errors).toHaveLength(1);
    expect(r.errors?.[0]).toMatch(/999999/);
  });

  it("answers syntax and schema errors with messages and no data", async () => {
    const syntax = await gql("{ mlflowGetExperiment(");
    expect(syntax.data).toBeNull();
    expect(syntax.errors?.[0]).toMatch(/Syntax Error/);
    const unknown = await gql("{ noSuchField }");
    expect(unknown.data).toBeNull();
    expect(unknown.errors?.[0]).toMatch(/noSuchField/);
  });

  it("refuses a query with more than 1000 selections before running it", async () => {
    const wide = `{ ${Array.from({ length: 1001 }, (_, i) => `t${i}: test(inputString: "x") { output }`).join(" ")} }`;
    const r = await gql(wide);
    expect(r.data).toBeNull();
    expect(r.errors).toContain("Query exceeds maximum total selections of 1000");
    const fine = await gql(
      `{ ${Array.from({ length: 3 }, (_, i) => `t${i}: test(inputString: "x") { output }`).join(" ")} }`,
    );
    expect(fine.data?.t2).toEqual({ output: "x" });
  });

  it("is served on GET too, from the query string", async () => {
    const q = encodeURIComponent('{ test(inputString: "g") { output } }');
    const r = await p.call("GET", `/graphql?query=${q}`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ data: { test: { output: "g" } }, errors: null });
  });
});
