import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { bearer, type TestPlatform } from "./fixtures";

/**
 * `keel dev --auth`: traces, their assessments and MLflow 3 logged models follow their
 * experiment's permission whichever way a request names them: by trace or model id in the path,
 * the query or the body, through the MLflow UI's /ajax-api copies, in searches and in calls that
 * list several ids. dana owns experiment A; vera holds NO_PERMISSIONS and rita READ there; olga
 * owns experiment B (everyone else READ by default); vera owns experiment V.
 */
let p: TestPlatform;
const tokens: Record<string, string> = {};
const M = "/api/2.0/mlflow";
const M3 = "/api/3.0/mlflow";
const as = (name: string) => bearer(tokens[name]);
const ids = { A: "", B: "", V: "", v2Trace: "", assessment: "", model: "", modelB: "", runV: "", runA: "" };

async function ok(who: string, method: string, path: string, body?: unknown) {
  const r = await p.call(method, path, body, as(who));
  if (r.status !== 200) throw new Error(`${who} ${method} ${path} -> ${r.status} ${r.text}`);
  return r.json;
}

const traceV3 = (who: string, experimentId: string, id: string) =>
  ok(who, "POST", `${M3}/traces`, {
    trace: {
      trace_info: {
        trace_id: id,
        trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: experimentId } },
        request_time: "2026-01-01T00:00:00.000Z",
        execution_duration: "0.250s",
        state: "OK",
        trace_metadata: { "mlflow.trace_schema.version": "3" },
        tags: { "mlflow.traceName": id, team: "a" },
      },
    },
  });

beforeAll(async () => {
  p = await startTestPlatform({ auth: "users" });
  for (const name of ["dana", "vera", "rita", "olga", "eddy"])
    tokens[name] = (await p.platform.access.users.add(name, ["data-scientist"])).token;
  ids.A = (await ok("dana", "POST", `${M}/experiments/create`, { name: "payments-a" })).experiment_id;
  ids.B = (await ok("olga", "POST", `${M}/experiments/create`, { name: "cards-b" })).experiment_id;
  ids.V = (await ok("vera", "POST", `${M}/experiments/create`, { name: "vera-own" })).experiment_id;
  for (const [username, permission] of [
    ["vera", "NO_PERMISSIONS"],
    ["rita", "READ"],
    ["eddy", "EDIT"],
  ])
    await ok("dana", "POST", `${M}/experiments/permissions/create`, {
      experiment_id: ids.A,
      username,
      permission,
    });
  await traceV3("dana", ids.A, "tr-a1");
  await traceV3("olga", ids.B, "tr-b1");
  await traceV3("vera", ids.V, "tr-v1");
  ids.v2Trace = (
    await ok("dana", "POST", `${M}/traces`, { experiment_id: ids.A, timestamp_ms: 1000 })
  ).trace_info.request_id;
  ids.assessment = (
    await ok("dana", "POST", `${M3}/traces/tr-a1/assessments`, {
      assessment: { assessment_name: "quality", feedback: { value: 4 }, source: { source_type: "HUMAN" } },
    })
  ).assessment.assessment_id;
  ids.model = (await ok("dana", "POST", `${M}/logged-models`, { experiment_id: ids.A })).model.info.model_id;
  ids.modelB = (await ok("olga", "POST", `${M}/logged-models`, { experiment_id: ids.B })).model.info.model_id;
  ids.runV = (await ok("vera", "POST", `${M}/runs/create`, { experiment_id: ids.V })).run.info.run_id;
  ids.runA = (await ok("dana", "POST", `${M}/runs/create`, { experiment_id: ids.A })).run.info.run_id;
});
afterAll(async () => {
  await p?.close();
});

type Level = "READ" | "EDIT";
/** Every route that names a trace or logged model by id, with the level MLflow asks for. */
const byId = (): Array<[Level, string, string, unknown?]> => {
  const t2 = `${M}/traces/${ids.v2Trace}`;
  const a = `${M3}/traces/tr-a1/assessments`;
  const m = `${M}/logged-models/${ids.model}`;
  return [
    ["READ", "GET", `${t2}/info`],
    ["EDIT", "PATCH", `${t2}/tags`, { key: "owned", value: "yes" }],
    ["EDIT", "DELETE", `${t2}/tags`, { key: "owned" }],
    ["READ", "GET", `/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${ids.v2Trace}`],
    ["READ", "GET", `${M3}/traces/tr-a1`],
    ["EDIT", "PATCH", `${M3}/traces/tr-a1/tags`, { key: "owned", value: "yes" }],
    ["EDIT", "DELETE", `${M3}/traces/tr-a1/tags`, { key: "team" }],
    ["EDIT", "POST", a, { assessment: { assessment_name: "x", feedback: { value: 1 } } }],
    ["READ", "GET", `${a}/${ids.assessment}`],
    ["EDIT", "PATCH", `${a}/${ids.assessment}`, { assessment: { rationale: "r" }, update_mask: "rationale" }],
    ["READ", "GET", m],
    ["EDIT", "PATCH", `${m}/tags`, { tags: [{ key: "owned", value: "yes" }] }],
    ["EDIT", "POST", `${m}/params`, { params: [{ key: "lr", value: "1" }] }],
    ["EDIT", "DELETE", `${m}/tags/owned`],
    ["READ", "GET", `${m}/artifacts/directories`],
    ["READ", "GET", `${m}/artifacts/files?artifact_file_path=MLmodel`],
    ["EDIT", "PATCH", m, { status: "LOGGED_MODEL_READY" }],
  ];
};
const ajax = (path: string) => (path.startsWith("/api/") ? `/ajax-api/${path.slice(5)}` : path);

describe("traces and logged models addressed by id", () => {
  it("refuses every route, and its /ajax-api copy, to a user with NO_PERMISSIONS, changing nothing", async () => {
    for (const [, method, path, body] of byId())
      for (const url of [path, ajax(path)]) {
        const r = await p.call(method, url, body, as("vera"));
        expect({ url, method, status: r.status }).toEqual({ url, method, status: 403 });
        expect(r.json.error_code).toBe("PERMISSION_DENIED");
      }
    for (const method of ["DELETE"])
      expect((await p.call(method, `${M}/logged-models/${ids.model}`, undefined, as("vera"))).status).toBe(
        403,
      );
    expect(
      (await p.call("DELETE", `${M3}/traces/tr-a1/assessments/${ids.assessment}`, undefined, as("vera")))
        .status,
    ).toBe(403);
    const info = (await ok("dana", "GET", `${M3}/traces/tr-a1`)).trace.trace_info;
    expect(info.tags).toMatchObject({ team: "a" });
    expect(info.tags.owned).toBeUndefined();
    expect(info.assessments).toHaveLength(1);
    const model = (await ok("dana", "GET", `${M}/logged-models/${ids.model}`)).model;
    expect(model.info.status).not.toBe("LOGGED_MODEL_READY");
    expect(model.data?.params ?? []).toEqual([]);
  });

  it("lets a READ user read but not change", async () => {
    for (const [level, method, path, body] of byId()) {
      const r = await p.call(method, path, body, as("rita"));
      if (level === "EDIT") expect({ path, method, status: r.status }).toEqual({ path, method, status: 403 });
      else expect({ path, method, refused: r.status === 403 }).toEqual({ path, method, refused: false });
    }
    expect(
      (await p.call("GET", `${M3}/traces/tr-a1`, undefined, as("rita"))).json.trace.trace_info.trace_id,
    ).toBe("tr-a1");
    expect((await p.call("DELETE", `${M}/logged-models/${ids.model}`, undefined, as("rita"))).status).toBe(
      403,
    );
  });

  it("lets an EDIT user change a logged model but not delete it or its tags (MANAGE, as MLflow 3.5.1)", async () => {
    const m = `${M}/logged-models/${ids.model}`;
    await ok("eddy", "PATCH", `${m}/tags`, { tags: [{ key: "eddy", value: "1" }] });
    expect((await p.call("DELETE", `${m}/tags/eddy`, undefined, as("eddy"))).status).toBe(403);
    expect((await p.call("DELETE", m, undefined, as("eddy"))).status).toBe(403);
    await ok("eddy", "PATCH", `${M3}/traces/tr-a1/tags`, { key: "eddy", value: "1" });
  });

  it("scopes an experiment's scorers to it", async () => {
    const q = `experiment_id=${ids.A}`;
    for (const path of [
      `${M3}/scorers/list?${q}`,
      `${M3}/scorers/versions?${q}&name=j`,
      `${M3}/scorers/get?${q}&name=j`,
    ])
      expect((await p.call("GET", path, undefined, as("vera"))).status).toBe(403);
    expect((await p.call("GET", `${M3}/scorers/list?${q}`, undefined, as("rita"))).status).toBe(200);
  });

  it("lets the owner do all of it", async () => {
    for (const [, method, path, body] of byId()) {
      const r = await p.call(method, path, body, as("dana"));
      expect({ path, method, status: r.status }).not.toMatchObject({ status: 403 });
      expect(r.status).toBeLessThan(500);
    }
    expect((await ok("dana", "GET", `${M}/logged-models/${ids.model}`)).model.info.status).toBe(
      "LOGGED_MODEL_READY",
    );
  });

  it("does not answer the GET routes' data to POST", async () => {
    for (const path of [
      `${M}/traces/${ids.v2Trace}/info`,
      `${M3}/traces/tr-a1`,
      `${M}/logged-models/${ids.model}`,
    ]) {
      const r = await p.call("POST", path, {}, as("vera"));
      expect(r.status).not.toBe(200);
      expect(r.text).not.toContain(ids.A === "" ? "x" : `"experiment_id":"${ids.A}"`);
    }
  });

  it("answers an unknown id with MLflow's 404 whoever asks", async () => {
    for (const path of [`${M3}/traces/tr-nope`, `${M}/traces/tr-nope/info`, `${M}/logged-models/m-nope`]) {
      const [vera, dana] = await Promise.all(
        ["vera", "dana"].map((w) => p.call("GET", path, undefined, as(w))),
      );
      expect(vera.status).toBe(404);
      expect(vera.json).toEqual(dana.json);
    }
  });

  it("checks the id the handler reads: the JSON body over the query string", async () => {
    const r = await p.call("POST", `${M}/runs/get?run_id=${ids.runV}`, { run_id: ids.runA }, as("vera"));
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.json)).not.toContain(ids.runA === "" ? "x" : `"experiment_id":"${ids.A}"`);
  });
});

describe("searches and calls listing several ids", () => {
  const search3 = (who: string, experimentIds: string[]) =>
    p.call(
      "POST",
      `${M3}/traces/search`,
      {
        locations: experimentIds.map((experiment_id) => ({
          type: "MLFLOW_EXPERIMENT",
          mlflow_experiment: { experiment_id },
        })),
      },
      as(who),
    );

  it("refuses a trace search naming an experiment the caller may not read, alone or mixed", async () => {
    expect((await search3("vera", [ids.A])).status).toBe(403);
    expect((await search3("vera", [ids.B, ids.A])).status).toBe(403);
    expect(
      (
        await p.call(
          "POST",
          `${M3.replace("/api", "/ajax-api")}/traces/search`,
          { locations: [{ type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: ids.A } }] },
          as("vera"),
        )
      ).status,
    ).toBe(403);
    const own = await search3("vera", [ids.B, ids.V]);
    expect(own.status).toBe(200);
    expect(own.json.traces.map((t: { trace_id: string }) => t.trace_id).sort()).toEqual(["tr-b1", "tr-v1"]);
    const read = await search3("rita", [ids.A]);
    expect(read.json.traces.map((t: { trace_id: string }) => t.trace_id)).toContain("tr-a1");
  });

  it("refuses the 2.x search by query string, also a repeated parameter, and finds nothing without ids", async () => {
    expect((await p.call("GET", `${M}/traces?experiment_ids=${ids.A}`, undefined, as("vera"))).status).toBe(
      403,
    );
    expect(
      (
        await p.call(
          "GET",
          `${M}/traces?experiment_ids=${ids.B}&experiment_ids=${ids.A}`,
          undefined,
          as("vera"),
        )
      ).status,
    ).toBe(403);
    const none = await p.call("GET", `${M}/traces`, undefined, as("vera"));
    expect(none.status).toBe(200);
    expect(none.json.traces ?? []).toEqual([]);
    expect((await p.call("POST", `${M3}/traces/search`, {}, as("vera"))).status).toBe(400);
  });

  it("refuses logged-model searches and filter correlations over an experiment the caller may not read", async () => {
    const search = (ids: string[]) =>
      p.call("POST", `${M}/logged-models/search`, { experiment_ids: ids }, as("vera"));
    expect((await search([ids.A])).status).toBe(403);
    expect((await search([ids.B, ids.A])).status).toBe(403);
    const b = await search([ids.B]);
    expect(b.json.models.map((m: { info: { model_id: string } }) => m.info.model_id)).toEqual([ids.modelB]);
    expect((await search([])).status).toBe(400);
    const correlation = {
      experiment_ids: [ids.B, ids.A],
      filter_string1: "status = 'OK'",
      filter_string2: "status = 'OK'",
    };
    expect(
      (await p.call("POST", `${M3}/traces/calculate-filter-correlation`, correlation, as("vera"))).status,
    ).toBe(403);
  });

  it("refuses to link another experiment's trace to the caller's own run, mixed with readable ones", async () => {
    const link = { run_id: ids.runV, trace_ids: ["tr-v1", "tr-b1", "tr-a1"] };
    expect((await p.call("POST", `${M}/traces/link-to-run`, link, as("vera"))).status).toBe(403);
    expect(
      (await p.call("POST", `${M}/traces/link-to-run`, { ...link, trace_ids: ["tr-v1"] }, as("vera"))).status,
    ).toBe(200);
  });

  it("refuses writing another experiment's logged model through the caller's own run", async () => {
    const metric = { run_id: ids.runV, key: "auc", value: 0.9, timestamp: 1, step: 0, model_id: ids.model };
    expect((await p.call("POST", `${M}/runs/log-metric`, metric, as("vera"))).status).toBe(403);
    const batch = { run_id: ids.runV, metrics: [{ ...metric, run_id: undefined }] };
    expect((await p.call("POST", `${M}/runs/log-batch`, batch, as("vera"))).status).toBe(403);
    const outputs = { run_id: ids.runV, models: [{ model_id: ids.modelB }, { model_id: ids.model }] };
    expect((await p.call("POST", `${M}/runs/outputs`, outputs, as("vera"))).status).toBe(403);
    const model = (await ok("dana", "GET", `${M}/logged-models/${ids.model}`)).model;
    expect(model.data?.metrics ?? []).toEqual([]);
    await ok("vera", "POST", `${M}/runs/log-metric`, { ...metric, model_id: undefined });
  });

  it("deletes by id only within the experiment the caller manages", async () => {
    const r = await ok("vera", "POST", `${M3}/traces/delete-traces`, {
      experiment_id: ids.V,
      request_ids: ["tr-a1"],
    });
    expect(r.traces_deleted).toBe(0);
    expect(
      (
        await p.call(
          "POST",
          `${M3}/traces/delete-traces`,
          { experiment_id: ids.A, request_ids: ["tr-a1"] },
          as("vera"),
        )
      ).status,
    ).toBe(403);
    expect((await ok("dana", "GET", `${M3}/traces/tr-a1`)).trace.trace_info.trace_id).toBe("tr-a1");
  });

  it("lets the owner delete the logged model and vera still cannot see it", async () => {
    await ok("dana", "DELETE", `${M}/logged-models/${ids.model}`);
    const [vera, dana] = await Promise.all(
      ["vera", "dana"].map((w) => p.call("GET", `${M}/logged-models/${ids.model}`, undefined, as(w))),
    );
    expect(dana.status).toBe(404);
    expect(vera.status).toBe(404);
  });
});
