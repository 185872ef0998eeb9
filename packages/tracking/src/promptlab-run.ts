import { Readable } from "node:stream";
import type { ArtifactProxyService } from "@keel/artifacts";
import type { CreatePromptlabRunRequest } from "@keel/contract";
import { invalidParam } from "./errors";
import type { Run } from "./schemas";
import type { TrackingService } from "./service";

/** The tag MLflow's UI reads to show a run's evaluation table. */
const LOGGED_ARTIFACTS = '[{"path": "eval_results_table.json", "type": "table"}]';
const REQUIRED = [
  "experiment_id",
  "prompt_template",
  "prompt_parameters",
  "model_route",
  "model_input",
  "mlflow_version",
] as const;

type KeyValue = { key?: unknown; value?: unknown };
const params = (list: KeyValue[] | undefined) =>
  (list ?? []).map((p) => ({ key: String(p.key ?? ""), value: String(p.value ?? "") }));

/** Python's `json.dumps` spelling (", " and ": " separators, ASCII only), as MLflow writes the table. */
function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(", ")}]`;
  if (v && typeof v === "object") {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyJson(k)}: ${pyJson(x)}`)
      .join(", ")}}`;
  }
  if (v === undefined || v === null) return "null";
  return JSON.stringify(v).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * MLflow's `create-promptlab-run` (`_create_promptlab_run_impl`): a run holding one prompt
 * evaluation: the model parameters, route and template as params, the evaluation table and a
 * promptlab model as artifacts, and the tags the UI reads. The run ends FINISHED, or FAILED
 * when its artifacts cannot be written. Checks the request with MLflow's messages first.
 */
export async function createPromptlabRun(
  tracking: TrackingService,
  artifacts: Pick<ArtifactProxyService, "upload">,
  r: CreatePromptlabRunRequest,
  now: () => number,
): Promise<{ run: Run }> {
  for (const name of REQUIRED) {
    const v = r[name];
    if (!v || (Array.isArray(v) && v.length === 0)) {
      throw invalidParam(`CreatePromptlabRun request must specify ${name}.`);
    }
  }
  const promptParams = params(r.prompt_parameters);
  const modelParams = params(r.model_parameters);
  const outputParams = params(r.model_output_parameters);
  const { run } = await tracking.createRun({
    experiment_id: r.experiment_id,
    run_name: r.run_name,
    user_id: r.user_id ?? "unknown",
    start_time: r.start_time === undefined ? now() : Number(r.start_time),
    tags: params(r.tags),
  });
  const runId = run.info.run_id;
  let status: "FINISHED" | "FAILED" = "FINISHED";
  try {
    await tracking.logBatch({
      run_id: runId,
      params: [
        ...modelParams,
        { key: "model_route", value: String(r.model_route) },
        { key: "prompt_template", value: String(r.prompt_template) },
      ],
      tags: [
        { key: "mlflow.loggedArtifacts", value: LOGGED_ARTIFACTS },
        { key: "mlflow.runSourceType", value: "PROMPT_ENGINEERING" },
      ],
    });
    const created = new Date(now()).toISOString().replace("T", " ").replace("Z", "000");
    const flavors = {
      python_function: { loader_module: "mlflow._promptlab", env: { virtualenv: "python_env.yaml" } },
    };
    await tracking.logModel({
      run_id: runId,
      model_json: JSON.stringify({
        artifact_path: "model",
        run_id: runId,
        utc_time_created: created,
        flavors,
      }),
    });
    const table = {
      columns: [...promptParams.map((p) => p.key), "prompt", "output", ...outputParams.map((p) => p.key)],
      data: [
        [
          ...promptParams.map((p) => p.value),
          r.model_input,
          r.model_output ?? null,
          ...outputParams.map((p) => p.value),
        ],
      ],
    };
    const mlmodel = [
      "artifact_path: model",
      "flavors:",
      "  python_function:",
      "    loader_module: mlflow._promptlab",
      `run_id: ${runId}`,
      `utc_time_created: '${created}'`,
      "",
    ].join("\n");
    const promptlab = pyJson({
      prompt_template: r.prompt_template,
      prompt_parameters: promptParams,
      model_parameters: modelParams,
      model_route: r.model_route,
    });
    const root = `${run.info.experiment_id}/${runId}/artifacts`;
    const put = (path: string, text: string, type: string) =>
      artifacts.upload(`${root}/${path}`, Readable.from([Buffer.from(text)]), type);
    await put("eval_results_table.json", pyJson(table), "application/json");
    await put("model/MLmodel", mlmodel, "text/yaml");
    await put("model/promptlab.json", promptlab, "application/json");
    await put("model/requirements.txt", `mlflow[gateway]==${r.mlflow_version}\n`, "text/plain");
  } catch {
    status = "FAILED";
  }
  await tracking.updateRun({ run_id: runId, status, end_time: now(), run_name: r.run_name });
  return tracking.getRun(runId);
}
