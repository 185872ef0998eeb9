import { useState } from "preact/hooks";
import { errorText, keel, useApi } from "../api";
import { Graph } from "../graph";
import { useLiveRun } from "../live-run";
import { hasRole } from "../me";
import { DefinitionSection, ReproduceButton } from "../pipeline-extras";
import { href, navigate } from "../router";
import { ErrorBox, fmtDuration, fmtTime, Json, Load, Outcome, Page, Section, Status } from "../ui";

interface PipelineRun {
  runId: string;
  pipeline: string;
  status: string;
  params?: Record<string, unknown>;
  startTime?: number;
  endTime?: number;
  principal?: string;
  trigger?: string;
  trackingRunId?: string;
  error?: unknown;
}
interface StepRecord {
  step: string;
  status: string;
  startTime?: number;
  endTime?: number;
  attempts?: number;
  logTail?: string;
  output?: unknown;
  error?: unknown;
  trackingRunId?: string;
  cached?: boolean;
}

export function PipelinesPage() {
  const list = useApi(() => keel.call("pipelines.list"), []);
  const runs = useApi(() => keel.call("pipelines.listRuns", { query: { limit: 20 } }), []);
  return (
    <Page title="Pipelines">
      <Load res={list}>
        {(d) => (
          <div class="table-wrap">
            <table class="grid">
              <caption class="sr-only">Pipelines</caption>
              <thead>
                <tr>
                  <th scope="col">Pipeline</th>
                  <th scope="col">Version</th>
                  <th scope="col">Steps</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                {d.pipelines.map((p) => (
                  <tr key={p.name}>
                    <td>
                      <a href={href("pipelines", p.name)}>{p.name}</a>
                    </td>
                    <td>{p.version}</td>
                    <td>{p.steps.length}</td>
                    <td style="white-space:normal">{p.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Load>
      <Section title="Recent runs">
        <Load res={runs}>{(d) => <RunsTable runs={d.runs as PipelineRun[]} />}</Load>
      </Section>
    </Page>
  );
}

function RunsTable(props: { runs: PipelineRun[] }) {
  if (props.runs.length === 0) return <p class="muted">No runs yet.</p>;
  return (
    <div class="table-wrap">
      <table class="grid">
        <caption class="sr-only">Pipeline runs</caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Pipeline</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((r) => (
            <tr key={r.runId}>
              <td>
                <a href={href("pipelines", "runs", r.runId)}>{r.runId.slice(0, 12)}</a>
              </td>
              <td>{r.pipeline}</td>
              <td>
                <Status value={r.status} />
              </td>
              <td>{fmtTime(r.startTime)}</td>
              <td>{fmtDuration(r.startTime, r.endTime)}</td>
              <td>{r.principal}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

export function PipelinePage(props: { params: Record<string, string> }) {
  const name = props.params.name;
  const p = useApi(() => keel.call("pipelines.get", { params: { name } }), [name]);
  const runs = useApi(
    () => keel.call("pipelines.listRuns", { query: { pipeline: name, limit: 20 } }),
    [name],
  );
  return (
    <Page title={`Pipeline ${name}`}>
      <Load res={p}>
        {(d) => (
          <>
            <p>{d.description}</p>
            <Section title="Steps">
              <Graph
                title={`Steps of ${name}`}
                nodes={d.levels.flat().map((s) => ({ id: s, label: s }))}
                edges={Object.entries(d.dependencies).flatMap(([to, froms]) =>
                  froms.map((from) => ({ from, to })),
                )}
              />
            </Section>
            <DefinitionSection name={name} />
            {/* The forms start from the last run's parameters: shown once the runs have loaded. */}
            {hasRole("data-scientist", "admin") && (runs.data || runs.error) && (
              <>
                <StartRunForm
                  name={name}
                  schema={d.params_schema as JsonSchema | undefined}
                  lastParams={(runs.data?.runs[0] as PipelineRun | undefined)?.params}
                />

                <BackfillForm
                  name={name}
                  schedule={d.schedule}
                  lastParams={(runs.data?.runs[0] as PipelineRun | undefined)?.params}
                />
              </>
            )}
          </>
        )}
      </Load>
      <Section title="Runs">
        <Load res={runs}>{(d) => <RunsTable runs={d.runs as PipelineRun[]} />}</Load>
      </Section>
    </Page>
  );
}

const typeOf = (s: JsonSchema) =>
  (Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type) ?? "string";

/** A form generated from the pipeline's parameter schema (JSON Schema from its zod params). */
function StartRunForm(props: { name: string; schema?: JsonSchema; lastParams?: Record<string, unknown> }) {
  const fields = Object.entries(props.schema?.properties ?? {});
  const required = new Set(props.schema?.required ?? []);
  const initial = Object.fromEntries(
    fields.map(([k, s]) => [k, String(props.lastParams?.[k] ?? s.default ?? "")]),
  );
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [raw, setRaw] = useState(JSON.stringify(props.lastParams ?? {}, null, 2));
  const [noCache, setNoCache] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const params = (): Record<string, unknown> => {
    if (fields.length === 0) return JSON.parse(raw || "{}");
    const out: Record<string, unknown> = {};
    for (const [k, s] of fields) {
      const v = values[k];
      if (v === undefined || v === "") continue;
      const t = typeOf(s);
      out[k] = t === "number" || t === "integer" ? Number(v) : t === "boolean" ? v === "true" : v;
    }
    return out;
  };
  return (
    <Section title="Start a run">
      <form
        class="form"
        aria-label="Start a run"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const res = await keel.call("pipelines.startRun", {
              params: { name: props.name },
              body: { params: params(), noCache },
            });
            navigate(href("pipelines", "runs", res.run.runId));
          } catch (err) {
            setError(errorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        {fields.length === 0 ? (
          <label>
            Parameters (JSON)
            <textarea rows={6} value={raw} onInput={(e) => setRaw(e.currentTarget.value)} />
          </label>
        ) : (
          fields.map(([k, s]) => {
            const t = typeOf(s);
            const id = `param-${k}`;
            return (
              <div class="field" key={k}>
                <label for={id}>
                  {k}
                  {required.has(k) ? " *" : ""} <span class="muted">({t})</span>
                </label>
                {s.enum ? (
                  <select
                    id={id}
                    name={k}
                    value={values[k]}
                    onChange={(e) => setValues({ ...values, [k]: e.currentTarget.value })}
                  >
                    {s.enum.map((o) => (
                      <option key={String(o)}>{String(o)}</option>
                    ))}
                  </select>
                ) : t === "boolean" ? (
                  <select
                    id={id}
                    name={k}
                    value={values[k]}
                    onChange={(e) => setValues({ ...values, [k]: e.currentTarget.value })}
                  >
                    <option value="">(default)</option>
                    <option>true</option>
                    <option>false</option>
                  </select>
                ) : (
                  <input
                    id={id}
                    name={k}
                    {...(t === "number" || t === "integer"
                      ? {
                          type: "number" as const,
                          step: t === "integer" ? 1 : "any",
                          min: s.minimum,
                          max: s.maximum,
                        }
                      : { type: "text" as const })}
                    required={required.has(k) && s.default === undefined}
                    value={values[k]}
                    onInput={(e) => setValues({ ...values, [k]: e.currentTarget.value })}
                  />
                )}
                {s.description && <small class="muted">{s.description}</small>}
              </div>
            );
          })
        )}
        <label style="display:flex;gap:6px;align-items:center;font-weight:400">
          <input type="checkbox" checked={noCache} onChange={() => setNoCache(!noCache)} /> Ignore the step
          cache
        </label>
        <div class="actions">
          <button type="submit" disabled={busy}>
            Start run
          </button>
        </div>
        {error && <ErrorBox error={new Error(error)} />}
      </form>
    </Section>
  );
}

const ACTIVE = new Set(["RUNNING", "PENDING", "STARTING"]);

export function PipelineRunPage(props: { params: Record<string, string> }) {
  const id = props.params.id;
  // Live by server-sent events, polling when they fail (useLiveRun).
  const res = useLiveRun(id);
  const run = res.data?.run as PipelineRun | undefined;
  const def = useApi(
    async () => (run ? keel.call("pipelines.get", { params: { name: run.pipeline } }) : undefined),
    [run?.pipeline],
  );
  const [msg, setMsg] = useState<string>();
  const steps = (res.data?.steps ?? []) as StepRecord[];
  const byStep = new Map(steps.map((s) => [s.step, s]));
  const act = async (what: "resume" | "stop") => {
    try {
      const r = await keel.call(what === "resume" ? "pipelines.resumeRun" : "pipelines.stopRun", {
        params: { id },
      });
      if (what === "resume" && r.run.runId !== id) navigate(href("pipelines", "runs", r.run.runId));
      else res.reload();
    } catch (e) {
      setMsg(errorText(e));
    }
  };
  return (
    <Page
      title={`Pipeline run ${id.slice(0, 12)}`}
      actions={
        run && (
          <>
            {ACTIVE.has(run.status) && (
              <button type="button" class="danger" onClick={() => act("stop")}>
                Stop
              </button>
            )}
            <ReproduceButton runId={id} status={run.status} onError={setMsg} />
            {(run.status === "FAILED" || run.status === "ABORTED" || run.status === "TIMED_OUT") && (
              <button type="button" onClick={() => act("resume")}>
                Resume
              </button>
            )}
          </>
        )
      }
    >
      {msg && <ErrorBox error={new Error(msg)} />}
      <Load res={res}>
        {() =>
          run && (
            <>
              <p>
                <a href={href("pipelines", run.pipeline)}>{run.pipeline}</a> ·{" "}
                <Status value={run.status} testid="run-status" /> · started {fmtTime(run.startTime)} by{" "}
                {run.principal} · {fmtDuration(run.startTime, run.endTime)}
                {run.trackingRunId && (
                  <>
                    {" · "}
                    <a href={href("runs", run.trackingRunId)}>tracking run</a>
                  </>
                )}
              </p>
              {def.data && (
                <Section
                  title="Steps"
                  actions={
                    res.mode !== "done" ? (
                      <span class="muted" role="status" data-testid="live-mode">
                        {res.mode === "events" ? "live" : "live (polling)"}
                      </span>
                    ) : undefined
                  }
                >
                  <Graph
                    title={`Steps of run ${id}`}
                    nodes={def.data.levels.flat().map((s) => ({
                      id: s,
                      label: s,
                      status: byStep.get(s)?.status ?? "PENDING",
                    }))}
                    edges={Object.entries(def.data.dependencies).flatMap(([to, froms]) =>
                      froms.map((from) => ({ from, to })),
                    )}
                  />
                </Section>
              )}
              <Section title="Step details">
                {steps.map((s) => (
                  <details key={s.step}>
                    <summary>
                      {s.step} <Status value={s.status} /> {fmtDuration(s.startTime, s.endTime)}
                    </summary>
                    {s.logTail && <pre class="json">{s.logTail}</pre>}
                    {s.output !== undefined && <Json value={s.output} />}
                    {s.error !== undefined && <Json value={s.error} />}
                  </details>
                ))}
              </Section>
              <Section title="Parameters">
                <Json value={run.params ?? {}} />
              </Section>
            </>
          )
        }
      </Load>
    </Page>
  );
}

/** One run per day of a date range, in the background (the CLI's `keel pipeline run --from --to`). */
function BackfillForm(props: { name: string; schedule?: unknown; lastParams?: Record<string, unknown> }) {
  // Each day's run gets the last run's parameters (required ones included) with its own `ds`.
  const { ds: _ds, ...params } = props.lastParams ?? {};
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  return (
    <Section title="Backfill">
      <p class="muted">
        One run per day, each with the last run's parameters
        {Object.keys(params).length ? "" : " (none yet: the pipeline's defaults)"} and its day as{" "}
        <code>ds</code>.
      </p>
      {props.schedule !== undefined && (
        <p class="muted">
          Schedule: <code>{JSON.stringify(props.schedule)}</code>
        </p>
      )}
      <form
        class="inline"
        aria-label="Backfill"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const r = await keel.call("pipelines.backfill", {
              params: { name: props.name },
              body: { from, to, params },
            });
            setMsg({
              ok: `${r.intervals.length} runs started (${r.concurrency} at a time); they appear under Runs`,
            });
          } catch (err) {
            setMsg({ error: errorText(err) });
          }
        }}
      >
        <label>
          From
          <input type="date" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To
          <input type="date" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <button type="submit">Backfill</button>
      </form>
      <Outcome msg={msg} />
    </Section>
  );
}
