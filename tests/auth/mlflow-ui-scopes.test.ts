import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { bearer, type TestPlatform } from "./fixtures";

/**
 * `keel dev --auth`: the MLflow UI's run and model endpoints obey experiment and model
 * permissions as the protobuf endpoints do, whether the run is named `run_id` or `run_uuid`.
 */
let p: TestPlatform;
const tokens: Record<string, string> = {};
const M = "/api/2.0/mlflow";
const as = (name: string) => bearer(tokens[name]);
let experiment_id: string;
let runId: string;

beforeAll(async () => {
  p = await startTestPlatform({ auth: "users" });
  for (const [name, roles] of [
    ["vera", ["viewer"]],
    ["dana", ["data-scientist"]],
    ["dirk", ["data-scientist"]],
  ] as const)
    tokens[name] = (await p.platform.access.users.add(name, [...roles])).token;
  experiment_id = (await p.call("POST", `${M}/experiments/create`, { name: "ui-team" }, as("dana"))).json
    .experiment_id;
  runId = (await p.call("POST", `${M}/runs/create`, { experiment_id }, as("dana"))).json.run.info.run_id;
  await p.call(
    "POST",
    `${M}/experiments/permissions/create`,
    { experiment_id, username: "vera", permission: "NO_PERMISSIONS" },
    as("dana"),
  );
});
afterAll(async () => {
  await p?.close();
});

const upload = (who: string) =>
  fetch(`${p.url}/ajax-api/2.0/mlflow/upload-artifact?run_uuid=${runId}&path=notes.txt`, {
    method: "POST",
    headers: as(who),
    body: "hello",
  }).then((r) => r.status);

describe("MLflow UI endpoints under experiment permissions", () => {
  it("lets only editors upload, by run_uuid", async () => {
    expect(await upload("dirk")).toBe(403);
    expect(await upload("dana")).toBe(200);
  });

  it("refuses reads to a user with NO_PERMISSIONS, by run_id or run_uuid", async () => {
    for (const q of [`run_id=${runId}`, `run_uuid=${runId}`]) {
      expect((await p.call("GET", `/get-artifact?${q}&path=notes.txt`, undefined, as("vera"))).status).toBe(
        403,
      );
      expect((await p.call("GET", `/get-artifact?${q}&path=notes.txt`, undefined, as("dirk"))).text).toBe(
        "hello",
      );
      expect((await p.call("GET", `${M}/runs/get?${q}`, undefined, as("vera"))).status).toBe(403);
    }
  });

  it("creates prompt-lab runs only for experiment editors", async () => {
    const body = {
      experiment_id,
      prompt_template: "t",
      prompt_parameters: [{ key: "k", value: "v" }],
      model_route: "r",
      model_input: "i",
      mlflow_version: "2.17.2",
    };
    expect(
      (await p.call("POST", "/ajax-api/2.0/mlflow/runs/create-promptlab-run", body, as("dirk"))).status,
    ).toBe(403);
    expect(
      (await p.call("POST", "/ajax-api/2.0/mlflow/runs/create-promptlab-run", body, as("dana"))).status,
    ).toBe(200);
  });
});
