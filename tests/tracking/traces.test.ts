import { beforeAll, describe, expect, it } from "vitest";
import { platformForFile } from "../helpers/platform";

/**
 * MLflow Tracing over real HTTP, with the request shapes of the official clients: 2.x's
 * StartTrace/EndTrace (mlflow 2.14-2.22 and 3.x's deprecated_*_v2), 3.x's StartTraceV3 with
 * protobuf JSON timestamps, span data uploaded by the client through the artifact proxy to the
 * `mlflow.artifactLocation` tag, and MLflow's search grammar for traces.
 */
const V2 = "/api/2.0/mlflow";
const V3 = "/api/3.0/mlflow";

const p = platformForFile({ defaultPrincipal: "alice" }, "");
const { ok } = p;

const { experiment } = p;

const userKeys = (m: Record<string, string>) =>
  Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith("mlflow.")));
const kvs = (list: Array<{ key: string; value: string }>) =>
  Object.fromEntries(list.map((e) => [e.key, e.value]));

/** Records a finished trace as MLflow 3's client does (StartTraceV3 at the end of the trace). */
async function traceV3(
  experimentId: string,
  id: string,
  opts: { ms: number; state?: string; tags?: Record<string, string>; metadata?: Record<string, string> },
) {
  return ok("POST", `${V3}/traces`, {
    trace: {
      trace_info: {
        trace_id: id,
        trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } },
        request_preview: '{"x": 1}',
        response_preview: '"y"',
        request_time: new Date(opts.ms).toISOString().replace("Z", "456Z"),
        execution_duration: "0.250s",
        state: opts.state ?? "OK",
        trace_metadata: { "mlflow.trace_schema.version": "3", ...opts.metadata },
        tags: { "mlflow.traceName": id, ...opts.tags },
      },
    },
  });
}

describe("2.x traces: start, end, get info", () => {
  it("starts in progress, ends with merged metadata and tags and the elapsed time", async () => {
    const experimentId = await experiment("start end trace");
    const started = await ok("POST", `${V2}/traces`, {
      experiment_id: experimentId,
      timestamp_ms: 1000,
      request_metadata: [
        { key: "meta1", value: "apple" },
        { key: "meta2", value: "grape" },
      ],
      tags: [
        { key: "tag1", value: "football" },
        { key: "tag2", value: "basketball" },
      ],
    });
    const info = started.trace_info;
    expect(info).toMatchObject({
      experiment_id: experimentId,
      timestamp_ms: 1000,
      execution_time_ms: 0,
      status: "IN_PROGRESS",
    });
    expect(kvs(info.request_metadata)).toEqual({ meta1: "apple", meta2: "grape" });
    expect(kvs(info.tags)["mlflow.artifactLocation"]).toBe(
      `mlflow-artifacts:/${experimentId}/traces/${info.request_id}/artifacts`,
    );

    const ended = await ok("PATCH", `${V2}/traces/${info.request_id}`, {
      request_id: info.request_id,
      timestamp_ms: 3000,
      status: "OK",
      request_metadata: [
        { key: "meta1", value: "orange" },
        { key: "meta3", value: "banana" },
      ],
      tags: [
        { key: "tag1", value: "soccer" },
        { key: "tag3", value: "tennis" },
      ],
    });
    expect(ended.trace_info).toMatchObject({ timestamp_ms: 1000, execution_time_ms: 2000, status: "OK" });
    expect(kvs(ended.trace_info.request_metadata)).toEqual({
      meta1: "orange",
      meta2: "grape",
      meta3: "banana",
    });
    expect(userKeys(kvs(ended.trace_info.tags))).toEqual({
      tag1: "soccer",
      tag2: "basketball",
      tag3: "tennis",
    });

    const got = await ok("GET", `${V2}/traces/${info.request_id}/info`);
    expect(got.trace_info).toEqual(ended.trace_info);
  });

  it("answers 404 RESOURCE_DOES_NOT_EXIST for an unknown trace, 400 for a missing or archived experiment", async () => {
    const r = await p.call("GET", `${V2}/traces/nope/info`);
    expect(r.status).toBe(404);
    expect(r.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    const v3 = await p.call("GET", `${V3}/traces/tr-nope`);
    expect(v3.status).toBe(404);
    expect((await p.call("POST", `${V2}/traces`, { timestamp_ms: 1 })).status).toBe(400);
    const gone = await experiment("archived for traces");
    await ok("POST", `${V2}/experiments/delete`, { experiment_id: gone });
    const refused = await p.call("POST", `${V2}/traces`, { experiment_id: gone });
    expect(refused.status).toBe(400);
    expect(refused.json.message).toContain("must be in the 'active' state");
  });
});

describe("3.x traces: StartTraceV3, span data, get-trace-artifact", () => {
  it("records a finished trace with protobuf JSON times, keeps its spans where the client uploads them", async () => {
    const experimentId = await experiment("v3 traces");
    const id = "tr-0123456789abcdef0123456789abcdef";
    const ms = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const { trace } = await traceV3(experimentId, id, {
      ms,
      tags: { tag1: "football" },
      metadata: { meta1: "apple" },
    });
    expect(trace.trace_info).toMatchObject({
      trace_id: id,
      trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } },
      request_time: new Date(ms).toISOString(),
      execution_duration: "0.250s",
      state: "OK",
      request_preview: '{"x": 1}',
      response_preview: '"y"',
    });
    expect(trace.trace_info.trace_metadata).toEqual({ "mlflow.trace_schema.version": "3", meta1: "apple" });
    const location = trace.trace_info.tags["mlflow.artifactLocation"];
    expect(location).toBe(`mlflow-artifacts:/${experimentId}/traces/${id}/artifacts`);

    const spans = { spans: [{ name: "root", attributes: { "mlflow.traceRequestId": JSON.stringify(id) } }] };
    const path = location.replace("mlflow-artifacts:/", "");
    const put = await p.call(
      "PUT",
      `/api/2.0/mlflow-artifacts/artifacts/${path}/traces.json`,
      JSON.stringify(spans),
    );
    expect(put.status).toBe(200);

    const got = await ok("GET", `${V3}/traces/${id}`);
    expect(got.trace.trace_info).toEqual(trace.trace_info);
    const v2 = await ok("GET", `${V2}/traces/${id}/info`);
    expect(v2.trace_info).toMatchObject({
      request_id: id,
      timestamp_ms: ms,
      execution_time_ms: 250,
      status: "OK",
    });

    const art = await p.call("GET", `/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${id}`);
    expect(art.status).toBe(200);
    expect(art.headers.get("content-disposition")).toBe("attachment; filename=traces.json");
    expect(JSON.parse(art.text)).toEqual(spans);
  });

  it("get-trace-artifact: 400 without request_id, 404 when no span data was uploaded", async () => {
    expect((await p.call("GET", "/ajax-api/2.0/mlflow/get-trace-artifact")).status).toBe(400);
    const experimentId = await experiment("no span data");
    await traceV3(experimentId, "tr-nodata", { ms: 5 });
    expect((await p.call("GET", "/ajax-api/2.0/mlflow/get-trace-artifact?request_id=tr-nodata")).status).toBe(
      404,
    );
  });

  it("refuses StartTraceV3 without a trace", async () => {
    const r = await p.call("POST", `${V3}/traces`, {});
    expect(r.status).toBe(400);
    expect(r.json.message).toContain("'trace'");
  });
});

describe("search, tags, delete, link to run", () => {
  let experimentId: string;
  beforeAll(async () => {
    experimentId = await experiment("search traces");
    await traceV3(experimentId, "tr-1", { ms: 1000, tags: { env: "prod" } });
    await traceV3(experimentId, "tr-2", { ms: 2000, tags: { env: "dev" } });
    await traceV3(experimentId, "tr-3", { ms: 3000, state: "ERROR", tags: { env: "prod" } });
  });
  const idsV2 = (r: { traces?: Array<{ request_id: string }> }) => (r.traces ?? []).map((t) => t.request_id);
  const idsV3 = (r: { traces?: Array<{ trace_id: string }> }) => (r.traces ?? []).map((t) => t.trace_id);
  const location = () => [{ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } }];

  it("orders newest first, filters by status and tags, orders ascending on request", async () => {
    const all = await ok("GET", `${V2}/traces?experiment_ids=${experimentId}`);
    expect(idsV2(all)).toEqual(["tr-3", "tr-2", "tr-1"]);
    expect(all.next_page_token).toBeUndefined();
    const okOnes = await ok(
      "GET",
      `${V2}/traces?experiment_ids=${experimentId}&filter=${encodeURIComponent("status = 'OK'")}&order_by=${encodeURIComponent("timestamp ASC")}`,
    );
    expect(idsV2(okOnes)).toEqual(["tr-1", "tr-2"]);
    const prod = await ok("POST", `${V3}/traces/search`, {
      locations: location(),
      filter: "tags.env = 'prod' AND trace.timestamp_ms > 1500",
    });
    expect(idsV3(prod)).toEqual(["tr-3"]);
    const byName = await ok("POST", `${V3}/traces/search`, {
      locations: location(),
      filter: "name = 'tr-2'",
    });
    expect(idsV3(byName)).toEqual(["tr-2"]);
  });

  it("pages with a token", async () => {
    const first = await ok("POST", `${V3}/traces/search`, { locations: location(), max_results: 2 });
    expect(idsV3(first)).toEqual(["tr-3", "tr-2"]);
    expect(first.next_page_token).toEqual(expect.any(String));
    const second = await ok("POST", `${V3}/traces/search`, {
      locations: location(),
      max_results: 2,
      page_token: first.next_page_token,
    });
    expect(idsV3(second)).toEqual(["tr-1"]);
    expect(second.next_page_token).toBeUndefined();
  });

  it("refuses a bad filter, more than 500 results, and a search without locations", async () => {
    const bad = await p.call("POST", `${V3}/traces/search`, {
      locations: location(),
      filter: "invalid.x = 'y'",
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain("Invalid");
    expect(
      (await p.call("POST", `${V3}/traces/search`, { locations: location(), max_results: 501 })).status,
    ).toBe(400);
    expect((await p.call("POST", `${V3}/traces/search`, {})).status).toBe(400);
  });

  it("sets and deletes tags (v2 and v3 paths); deleting an absent tag is 404", async () => {
    await ok("PATCH", `${V2}/traces/tr-1/tags`, { key: "color", value: "green" });
    await ok("PATCH", `${V3}/traces/tr-1/tags`, { key: "shape", value: "round" });
    let info = (await ok("GET", `${V3}/traces/tr-1`)).trace.trace_info;
    expect(info.tags).toMatchObject({ color: "green", shape: "round" });
    await ok("DELETE", `${V2}/traces/tr-1/tags`, { key: "color" });
    info = (await ok("GET", `${V3}/traces/tr-1`)).trace.trace_info;
    expect(info.tags.color).toBeUndefined();
    const again = await p.call("DELETE", `${V2}/traces/tr-1/tags`, { key: "color" });
    expect(again.status).toBe(404);
    expect(again.json.message).toContain("No trace tag with key 'color'");
    expect((await p.call("PATCH", `${V2}/traces/tr-none/tags`, { key: "a", value: "b" })).status).toBe(404);
  });

  it("links traces to a run; `attribute.run_id` finds linked and source-run traces", async () => {
    const run = (await ok("POST", `${V2}/runs/create`, { experiment_id: experimentId })).run.info.run_id;
    await traceV3(experimentId, "tr-run", { ms: 500, metadata: { "mlflow.sourceRun": run } });
    await ok("POST", `${V2}/traces/link-to-run`, { trace_ids: ["tr-2"], run_id: run });
    const linked = await ok("POST", `${V3}/traces/search`, {
      locations: location(),
      filter: `attribute.run_id = '${run}'`,
    });
    expect(idsV3(linked).sort()).toEqual(["tr-2", "tr-run"]);
    expect(
      (await p.call("POST", `${V2}/traces/link-to-run`, { trace_ids: ["tr-1"], run_id: "nope" })).status,
    ).toBe(404);
  });

  it("computes the NPMI correlation of two filters", async () => {
    const r = await ok("POST", `${V3}/traces/calculate-filter-correlation`, {
      experiment_ids: [experimentId],
      filter_string1: "tags.env = 'prod'",
      filter_string2: "status = 'ERROR'",
    });
    expect(r).toMatchObject({ total_count: 4, filter1_count: 2, filter2_count: 1, joint_count: 1 });
    expect(r.npmi).toBeGreaterThan(0);
    const none = await ok("POST", `${V3}/traces/calculate-filter-correlation`, {
      experiment_ids: [experimentId],
      filter_string1: "tags.env = 'staging'",
      filter_string2: "status = 'OK'",
    });
    expect(none.npmi).toBe("NaN");
  });
});

describe("assessments", () => {
  it("creates, overrides (the original turns invalid), updates by mask, deletes (restoring the original)", async () => {
    const experimentId = await experiment("assessments");
    await traceV3(experimentId, "tr-a", { ms: 10 });
    const base = `${V3}/traces/tr-a/assessments`;
    const { assessment } = await ok("POST", base, {
      assessment: {
        assessment_name: "quality",
        feedback: { value: { rating: 4 } },
        source: { source_type: "HUMAN", source_id: "eve" },
      },
    });
    expect(assessment).toMatchObject({ assessment_name: "quality", trace_id: "tr-a", valid: true });
    const id = assessment.assessment_id;
    const updated = await ok("PATCH", `${base}/${id}`, {
      assessment: { assessment_name: "quality2", rationale: "better" },
      update_mask: "assessmentName,rationale",
    });
    expect(updated.assessment).toMatchObject({ assessment_name: "quality2", rationale: "better" });
    const override = await ok("POST", base, {
      assessment: { assessment_name: "fix", feedback: { value: 3 }, overrides: id },
    });
    expect((await ok("GET", `${base}/${id}`)).assessment.valid).toBe(false);
    const info = (await ok("GET", `${V3}/traces/tr-a`)).trace.trace_info;
    expect(info.assessments).toHaveLength(2);
    await ok("DELETE", `${base}/${override.assessment.assessment_id}`);
    expect((await p.call("GET", `${base}/${override.assessment.assessment_id}`)).status).toBe(404);
    expect((await ok("GET", `${base}/${id}`)).assessment.valid).toBe(true);
    const expectation = await ok("POST", base, {
      assessment: { assessment_name: "expected", expectation: { value: { passed: true } } },
    });
    expect(JSON.parse(expectation.assessment.expectation.serialized_value.value)).toEqual({ passed: true });
    // Recording the trace again (StartTraceV3 after log_spans) keeps its assessments.
    await traceV3(experimentId, "tr-a", { ms: 10 });
    expect((await ok("GET", `${V3}/traces/tr-a`)).trace.trace_info.assessments).toHaveLength(2);
  });
});

describe("delete-traces", () => {
  it("deletes by time (oldest first, at most max_traces) or by id, with their span data", async () => {
    const experimentId = await experiment("delete traces");
    for (const [i, id] of ["tr-d1", "tr-d2", "tr-d3", "tr-d4"].entries())
      await traceV3(experimentId, id, { ms: 1000 * (i + 1) });
    const dir = `${experimentId}/traces/tr-d1/artifacts`;
    await p.call("PUT", `/api/2.0/mlflow-artifacts/artifacts/${dir}/traces.json`, '{"spans": []}');

    const one = await ok("POST", `${V2}/traces/delete-traces`, {
      experiment_id: experimentId,
      max_timestamp_millis: 1e15,
      max_traces: 1,
    });
    expect(one.traces_deleted).toBe(1);
    expect((await p.call("GET", `${V3}/traces/tr-d1`)).status).toBe(404);
    expect((await p.call("GET", `/api/2.0/mlflow-artifacts/artifacts/${dir}/traces.json`)).status).toBe(404);

    const byId = await ok("POST", `${V3}/traces/delete-traces`, {
      experiment_id: experimentId,
      request_ids: ["tr-d3"],
    });
    expect(byId.traces_deleted).toBe(1);
    expect((await p.call("GET", `${V3}/traces/tr-d2`)).status).toBe(200);

    const rest = await ok("POST", `${V2}/traces/delete-traces`, {
      experiment_id: experimentId,
      max_timestamp_millis: 1e15,
    });
    expect(rest.traces_deleted).toBe(2);
  });

  it("needs exactly one of max_timestamp_millis and request_ids", async () => {
    const neither = await p.call("POST", `${V2}/traces/delete-traces`, { experiment_id: "0" });
    expect(neither.status).toBe(400);
    const both = await p.call("POST", `${V2}/traces/delete-traces`, {
      experiment_id: "0",
      max_timestamp_millis: 1,
      request_ids: ["x"],
    });
    expect(both.status).toBe(400);
    expect((await p.call("POST", `${V2}/traces/delete-traces`, { max_timestamp_millis: 1 })).status).toBe(
      400,
    );
  });
});

describe("TraceRecorder: server-side calls as traces", () => {
  it("records an LLM call with token usage and cost that the trace API and get-trace-artifact return", async () => {
    const experimentId = await experiment("gateway calls");
    const { traceId } = await p.platform.services.tracking.traceRecorder.record({
      experimentId,
      name: "chat gpt-test",
      startTimeMs: 1_700_000_000_000,
      endTimeMs: 1_700_000_000_420,
      inputs: { messages: [{ role: "user", content: "hi" }] },
      outputs: { choices: [{ message: { role: "assistant", content: "hello" } }] },
      usage: { inputTokens: 3, outputTokens: 5 },
      costUsd: 0.0012,
      metadata: { model: "gpt-test" },
    });
    const found = await ok("POST", `${V3}/traces/search`, {
      locations: [{ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } }],
    });
    expect(found.traces).toHaveLength(1);
    const info = found.traces[0];
    expect(info).toMatchObject({ trace_id: traceId, state: "OK", execution_duration: "0.420s" });
    expect(JSON.parse(info.trace_metadata["mlflow.trace.tokenUsage"])).toEqual({
      input_tokens: 3,
      output_tokens: 5,
      total_tokens: 8,
    });
    expect(info.trace_metadata["keel.costUsd"]).toBe("0.0012");
    expect(info.tags["mlflow.traceName"]).toBe("chat gpt-test");
    const data = JSON.parse(
      (await p.call("GET", `/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}`)).text,
    );
    expect(data.spans).toHaveLength(1);
    expect(data.spans[0].attributes["mlflow.traceRequestId"]).toBe(JSON.stringify(traceId));
    expect(JSON.parse(data.spans[0].attributes["mlflow.chat.tokenUsage"]).total_tokens).toBe(8);
  });
});
