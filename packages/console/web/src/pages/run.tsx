import { useState } from "preact/hooks";
import { authHeaders, keel, useApi } from "../api";
import { href, useLocation } from "../router";
import { ErrorBox, fmtDuration, fmtNum, fmtTime, KeyValues, Load, Page, Section } from "../ui";
import { MetricCharts } from "./charts";
import type { RunJson } from "./runs";

const TABS = ["overview", "charts", "artifacts"] as const;

export function RunPage(props: { params: Record<string, string> }) {
  const id = props.params.id;
  const { query } = useLocation();
  const tab = (query.get("tab") ?? "overview") as (typeof TABS)[number];
  const res = useApi(() => keel.call("tracking.getRun", { body: { run_id: id } }), [id]);
  const run = res.data?.run as RunJson | undefined;
  return (
    <Page title={run ? `Run ${run.info.run_name || run.info.run_id}` : "Run"}>
      <nav class="tabs" aria-label="Run views">
        {TABS.map((t) => (
          <a
            key={t}
            href={`${href("runs", id)}${t === "overview" ? "" : `?tab=${t}`}`}
            aria-current={t === tab ? "page" : undefined}
          >
            {t[0].toUpperCase() + t.slice(1)}
          </a>
        ))}
      </nav>
      <Load res={res}>
        {() =>
          run && (
            <>
              {tab === "overview" && <Overview run={run} />}
              {tab === "charts" && <MetricCharts runIds={[id]} />}
              {tab === "artifacts" && <Artifacts run={run} />}
            </>
          )
        }
      </Load>
    </Page>
  );
}

function Overview(props: { run: RunJson }) {
  const { info, data } = props.run;
  const tags = Object.fromEntries((data?.tags ?? []).map((t) => [t.key, t.value]));
  return (
    <div class="cards">
      <Section title="Run">
        <KeyValues
          label="Run"
          data={{
            id: info.run_id,
            experiment: info.experiment_id,
            status: info.status,
            user: info.user_id,
            started: fmtTime(info.start_time),
            duration: fmtDuration(info.start_time, info.end_time),
            artifacts: info.artifact_uri,
          }}
        />
        <p>
          <a href={href("experiments", info.experiment_id)}>All runs of this experiment</a>
          {tags["keel.pipeline_run_id"] && (
            <>
              {" · "}
              <a href={href("pipelines", tags["keel.pipeline"] ?? "", "runs", tags["keel.pipeline_run_id"])}>
                Pipeline run
              </a>
            </>
          )}
        </p>
      </Section>
      <Section title="Metrics">
        <table class="kv" aria-label="Metrics">
          <tbody>
            {(data?.metrics ?? []).map((m) => (
              <tr key={m.key}>
                <th scope="row">
                  <a href={`${href("runs", info.run_id)}?tab=charts&metric=${encodeURIComponent(m.key)}`}>
                    {m.key}
                  </a>
                </th>
                <td class="num">{fmtNum(Number(m.value))}</td>
                <td class="muted">step {m.step ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Parameters">
        <KeyValues
          label="Parameters"
          data={Object.fromEntries((data?.params ?? []).map((p) => [p.key, p.value]))}
        />
      </Section>
      <Section title="Tags">
        <KeyValues label="Tags" data={tags} />
      </Section>
    </div>
  );
}

/** Where the MLflow artifact proxy serves a run's file (mlflow-artifacts:/<exp>/<run>/artifacts/...). */
export function artifactUrl(artifactUri: string | undefined, path: string): string | undefined {
  const m = /^mlflow-artifacts:\/+(.*)$/.exec(artifactUri ?? "");
  if (!m) return undefined;
  return `/api/2.0/mlflow-artifacts/artifacts/${[...m[1].split("/"), ...path.split("/")].map(encodeURIComponent).join("/")}`;
}

const TEXT = /\.(txt|log|json|yaml|yml|md|csv|tsv|py|ts|js|pbtxt|MLmodel|html?)$|(^|\/)MLmodel$/i;
const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;

function Artifacts(props: { run: RunJson }) {
  const runId = props.run.info.run_id;
  const { query } = useLocation();
  const dir = query.get("dir") ?? "";
  const file = query.get("file") ?? "";
  const list = useApi(
    () => keel.call("tracking.listArtifacts", { body: { run_id: runId, path: dir || undefined } }),
    [runId, dir],
  );
  const parent = dir.split("/").slice(0, -1).join("/");
  return (
    <div class="split">
      <Section title={`Files${dir ? ` in ${dir}` : ""}`}>
        <Load res={list}>
          {(d) => (
            <ul aria-label="Artifacts">
              {dir && (
                <li>
                  <a href={`?tab=artifacts${parent ? `&dir=${encodeURIComponent(parent)}` : ""}`}>..</a>
                </li>
              )}
              {(d.files ?? []).length === 0 && <li class="muted">No artifacts.</li>}
              {(d.files ?? []).map((f) => (
                <li key={f.path}>
                  {f.is_dir ? (
                    <a href={`?tab=artifacts&dir=${encodeURIComponent(f.path)}`}>
                      {f.path.split("/").pop()}/
                    </a>
                  ) : (
                    <a
                      href={`?tab=artifacts${dir ? `&dir=${encodeURIComponent(dir)}` : ""}&file=${encodeURIComponent(f.path)}`}
                      aria-current={f.path === file ? "true" : undefined}
                    >
                      {f.path.split("/").pop()}
                    </a>
                  )}{" "}
                  {f.file_size !== undefined && (
                    <span class="muted">{Number(f.file_size).toLocaleString()} B</span>
                  )}
                </li>
              ))}
            </ul>
          )}
        </Load>
      </Section>
      <Section title={file || "Preview"}>
        {file ? <Preview run={props.run} path={file} /> : <p class="muted">Pick a file.</p>}
      </Section>
    </div>
  );
}

function Preview(props: { run: RunJson; path: string }) {
  const url = artifactUrl(props.run.info.artifact_uri, props.path);
  const [error, setError] = useState<string>();
  const res = useApi(async () => {
    if (!url) throw new Error(`artifacts at ${props.run.info.artifact_uri} are not served by this server`);
    const r = await fetch(url, { headers: authHeaders() });
    if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
    const blob = await r.blob();
    const text = TEXT.test(props.path) && blob.size < 2_000_000 ? await blob.text() : undefined;
    return { blob, text, objectUrl: URL.createObjectURL(blob) };
  }, [url]);
  const name = props.path.split("/").pop() ?? "artifact";
  return (
    <Load res={res}>
      {(d) => (
        <div class="preview">
          <p class="actions">
            <a href={d.objectUrl} download={name} data-external>
              Download {name}
            </a>
            <span class="muted">{d.blob.size.toLocaleString()} bytes</span>
          </p>
          {error && <ErrorBox error={new Error(error)} />}
          {IMAGE.test(name) ? (
            <img src={d.objectUrl} alt={name} onError={() => setError("cannot show this image")} />
          ) : /\.html?$/i.test(name) && d.text !== undefined ? (
            <iframe
              title={name}
              sandbox=""
              srcdoc={d.text}
              style="width:100%;height:480px;border:1px solid #ddd"
            />
          ) : d.text !== undefined ? (
            <pre>{d.text}</pre>
          ) : (
            <p class="muted">No preview for this file type.</p>
          )}
        </div>
      )}
    </Load>
  );
}
