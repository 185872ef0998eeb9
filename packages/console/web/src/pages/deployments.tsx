import { useRef, useState } from "preact/hooks";
import { errorText, keel, useApi } from "../api";
import { color, LineChart, type Series } from "../chart";
import { CreateDeploymentForm } from "../deploy-form";
import { hasRole } from "../me";
import { parsePrometheus } from "../metrics";
import { href } from "../router";
import { fmtNum, fmtTime, Json, Load, Outcome, Page, Section, Table } from "../ui";

interface Target {
  model: string;
  version: string;
  weight?: number;
  backend?: { type: string };
}
interface Deployment {
  name: string;
  environment?: string;
  stable: Target;
  canary?: Target;
  shadow?: Target;
  revision?: number;
  updated_at?: number;
  history?: Array<{ time: number; principal: string; action: string; detail: string }>;
  analysis_status?: Record<string, unknown>;
}

export function DeploymentsPage() {
  const res = useApi(() => keel.call("deployments.list"), []);
  return (
    <Page title="Deployments">
      <CreateDeploymentForm />
      <Load res={res}>
        {(d) => (
          <Table
            caption="Deployments"
            rows={d.deployments as Deployment[]}
            rowKey={(x) => x.name}
            columns={[
              { label: "Deployment", cell: (x) => <a href={href("deployments", x.name)}>{x.name}</a> },
              { label: "Environment", cell: (x) => x.environment },
              { label: "Stable", cell: (x) => (x.stable ? `${x.stable.model} v${x.stable.version}` : "—") },
              {
                label: "Canary",
                cell: (x) =>
                  x.canary ? `${x.canary.model} v${x.canary.version} (${x.canary.weight}%)` : "—",
              },
              { label: "Shadow", cell: (x) => (x.shadow ? `${x.shadow.model} v${x.shadow.version}` : "—") },
              { label: "Updated", cell: (x) => fmtTime(x.updated_at) },
            ]}
          />
        )}
      </Load>
    </Page>
  );
}

/** The traffic split as a bar: stable and canary shares. */
export function SplitBar(props: { d: Deployment }) {
  const canary = props.d.canary?.weight ?? 0;
  const stable = 100 - canary;
  return (
    <div>
      <div
        class="bar"
        role="img"
        aria-label={`Traffic split: stable ${stable}%, canary ${canary}%`}
        data-testid="split"
      >
        {stable > 0 && (
          <span style={`width:${stable}%;background:${color(0)}`}>
            stable v{props.d.stable.version} {stable}%
          </span>
        )}
        {canary > 0 && (
          <span style={`width:${canary}%;background:${color(1)}`}>
            canary v{props.d.canary?.version} {canary}%
          </span>
        )}
      </div>
      {props.d.shadow && (
        <p class="muted">
          Shadow: {props.d.shadow.model} v{props.d.shadow.version} (mirrored, never answers callers)
        </p>
      )}
    </div>
  );
}

export function DeploymentPage(props: { params: Record<string, string> }) {
  const name = props.params.name;
  const res = useApi(() => keel.call("deployments.get", { params: { name } }), [name], { pollMs: 5000 });
  const d = res.data as Deployment | undefined;
  const canDeploy = hasRole("deployer", "admin");
  const [version, setVersion] = useState("");
  const [weight, setWeight] = useState("10");
  const [reason, setReason] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const [analysis, setAnalysis] = useState<unknown>();
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setMsg({});
    try {
      const r = await fn();
      if (what === "analyze") setAnalysis(r);
      setMsg({ ok: `${what}: done` });
      res.reload();
    } catch (e) {
      setMsg({ error: errorText(e) });
    }
  };
  const model = d?.canary?.model ?? d?.stable.model ?? "";
  return (
    <Page title={`Deployment ${name}`}>
      <Load res={res}>
        {() =>
          d && (
            <>
              <Section title="Traffic">
                <SplitBar d={d} />
                <p>
                  Stable:{" "}
                  <a href={href("models", d.stable.model, "versions", d.stable.version)}>
                    {d.stable.model} v{d.stable.version}
                  </a>{" "}
                  · revision {d.revision} · <a href={href("monitoring", name)}>drift</a>
                </p>
              </Section>
              {canDeploy ? (
                <Section title="Roll out">
                  <form
                    class="inline"
                    aria-label="Shift traffic"
                    onSubmit={(e) => {
                      e.preventDefault();
                      act("shift", () =>
                        keel.call("deployments.shift", {
                          params: { name },
                          body: {
                            model,
                            version: version || d.canary?.version || d.stable.version,
                            weight: Number(weight),
                          },
                        }),
                      );
                    }}
                  >
                    <label>
                      Canary version
                      <input
                        value={version}
                        placeholder={d.canary?.version ?? ""}
                        onInput={(e) => setVersion(e.currentTarget.value)}
                      />
                    </label>
                    <label>
                      Canary weight (%)
                      <input
                        type="number"
                        min="0"
                        max="100"
                        value={weight}
                        onInput={(e) => setWeight(e.currentTarget.value)}
                      />
                    </label>
                    <button type="submit">Shift</button>
                  </form>
                  <div class="inline" style="margin-top:8px">
                    <label>
                      Reason
                      <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
                    </label>
                    <button
                      type="button"
                      disabled={!d.canary}
                      onClick={() =>
                        act("promote", () =>
                          keel.call("deployments.promote", {
                            params: { name },
                            body: { reason: reason || undefined },
                          }),
                        )
                      }
                    >
                      Promote canary
                    </button>
                    <button
                      type="button"
                      class="danger"
                      disabled={!d.canary}
                      onClick={() =>
                        act("rollback", () =>
                          keel.call("deployments.rollback", {
                            params: { name },
                            body: { reason: reason || undefined },
                          }),
                        )
                      }
                    >
                      Roll back
                    </button>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() =>
                        act("analyze", () => keel.call("deployments.analyze", { params: { name } }))
                      }
                    >
                      Analyze canary
                    </button>
                    <button
                      type="button"
                      class="secondary"
                      disabled={!version}
                      title="Mirror traffic to the version above without answering callers"
                      onClick={() =>
                        act("shadow", () =>
                          keel.call("deployments.setShadow", { params: { name }, body: { model, version } }),
                        )
                      }
                    >
                      Shadow this version
                    </button>
                    {d.shadow && (
                      <button
                        type="button"
                        class="secondary"
                        onClick={() =>
                          act("clear shadow", () =>
                            keel.call("deployments.clearShadow", { params: { name } }),
                          )
                        }
                      >
                        Stop shadow
                      </button>
                    )}
                  </div>
                  <Outcome msg={msg} />
                  {analysis !== undefined && <Json value={analysis} />}
                </Section>
              ) : (
                <p class="muted">Shifting traffic needs the deployer role.</p>
              )}
              <LiveMetrics name={name} />
              <Section title="History">
                <table class="kv" aria-label="History">
                  <tbody>
                    {(d.history ?? []).map((h) => (
                      <tr key={`${h.time}-${h.action}`}>
                        <th scope="row">{fmtTime(h.time)}</th>
                        <td>
                          <strong>{h.action}</strong> by {h.principal}: {h.detail}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </Section>
            </>
          )
        }
      </Load>
    </Page>
  );
}

interface Tick {
  t: number;
  byVersion: Record<string, { ok: number; err: number; sum: number; count: number }>;
}

/** The router's counters for this deployment from /metrics, polled; error rate and latency per version over time. */
function LiveMetrics(props: { name: string }) {
  const ticks = useRef<Tick[]>([]);
  const res = useApi(
    async () => {
      const text = (await keel.call("kserve.metrics")) as unknown as string;
      const samples = parsePrometheus(String(text)).filter((s) => s.labels.deployment === props.name);
      const byVersion: Tick["byVersion"] = {};
      for (const s of samples) {
        const v = s.labels.version ?? "?";
        byVersion[v] ??= { ok: 0, err: 0, sum: 0, count: 0 };
        const e = byVersion[v];
        if (s.name === "keel_router_requests_total") {
          if (s.labels.outcome === "ok" || s.labels.outcome === "success") e.ok += s.value;
          else e.err += s.value;
        } else if (s.name === "keel_router_duration_seconds_sum") e.sum += s.value;
        else if (s.name === "keel_router_duration_seconds_count") e.count += s.value;
      }
      ticks.current = [...ticks.current.slice(-299), { t: Date.now() / 1000, byVersion }];
      return { samples, byVersion };
    },
    [props.name],
    { pollMs: 3000 },
  );
  const versions = [...new Set(ticks.current.flatMap((t) => Object.keys(t.byVersion)))];
  const rate = (pick: (a: Tick["byVersion"][string], b: Tick["byVersion"][string]) => number): Series[] =>
    versions.map((v) => {
      const xs: number[] = [];
      const ys: number[] = [];
      for (let i = 1; i < ticks.current.length; i++) {
        const a = ticks.current[i - 1].byVersion[v];
        const b = ticks.current[i].byVersion[v];
        if (!a || !b) continue;
        xs.push(ticks.current[i].t);
        ys.push(pick(a, b));
      }
      return { label: `v${v}`, xs, ys };
    });
  const errRate = rate((a, b) => {
    const n = b.ok + b.err - (a.ok + a.err);
    return n > 0 ? (b.err - a.err) / n : 0;
  });
  const latency = rate((a, b) => (b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)) * 1000 : 0));
  return (
    <Section title="Live metrics">
      <Load res={res}>
        {(d) => (
          <>
            <table class="kv" aria-label="Router counters">
              <thead>
                <tr>
                  <th scope="col">version</th>
                  <th scope="col">ok</th>
                  <th scope="col">errors</th>
                  <th scope="col">mean latency (ms)</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(d.byVersion).map(([v, e]) => (
                  <tr key={v}>
                    <th scope="row">v{v}</th>
                    <td>{e.ok}</td>
                    <td>{e.err}</td>
                    <td>{e.count ? fmtNum((e.sum / e.count) * 1000) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {Object.keys(d.byVersion).length === 0 && (
              <p class="muted">No requests through the router since the server started.</p>
            )}
            {ticks.current.length > 2 && versions.length > 0 && (
              <div class="cards">
                <LineChart series={errRate} xLabel="time" time title="Error rate per version" height={180} />
                <LineChart
                  series={latency}
                  xLabel="time"
                  time
                  title="Mean latency (ms) per version"
                  height={180}
                />
              </div>
            )}
          </>
        )}
      </Load>
    </Section>
  );
}
