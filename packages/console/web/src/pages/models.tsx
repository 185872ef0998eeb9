import { useState } from "preact/hooks";
import { errorText, keel, useApi } from "../api";
import { CardEditor } from "../card-editor";
import { Graph, type GraphNode } from "../graph";
import { hasRole } from "../me";
import { PolicySection } from "../policy-editor";
import { href } from "../router";
import { fmtNum, fmtTime, KeyValues, Load, Outcome, Page, Section, Status, Table } from "../ui";
import type { RunJson } from "./runs";

interface Version {
  name: string;
  version: string;
  current_stage?: string;
  aliases?: string[];
  run_id?: string;
  source?: string;
  status?: string;
  description?: string;
  creation_timestamp?: number;
  user_id?: string;
}
export interface Promotion {
  id: string;
  model: string;
  version: string;
  target: { stage?: string; alias?: string };
  status: string;
  requester: string;
  request_comment: string;
  requested_at: number;
  reviewer?: string;
  review_comment?: string;
  reviewed_at?: number;
  auto_approved: boolean;
  checks_at_request?: unknown;
}

export const targetText = (t: Promotion["target"]) => (t.stage ? `stage ${t.stage}` : `alias @${t.alias}`);

export function ModelsPage() {
  const res = useApi(() => keel.call("registry.searchRegisteredModels", { body: { max_results: 1000 } }), []);
  return (
    <Page title="Registered models">
      <Load res={res}>
        {(d) => (
          <Table
            caption="Registered models"
            rows={d.registered_models ?? []}
            rowKey={(m) => m.name}
            columns={[
              { label: "Model", cell: (m) => <a href={href("models", m.name)}>{m.name}</a> },
              {
                label: "Latest versions",
                cell: (m) =>
                  ((m.latest_versions ?? []) as Version[]).map((v) => (
                    <span key={v.version}>
                      <a href={href("models", m.name, "versions", v.version)}>v{v.version}</a>{" "}
                      <Status value={v.current_stage} />{" "}
                    </span>
                  )),
              },
              {
                label: "Aliases",
                cell: (m) =>
                  ((m.aliases ?? []) as Array<{ alias: string; version: string }>)
                    .map((a) => `@${a.alias} → v${a.version}`)
                    .join(", ") || "—",
              },
              { label: "Updated", cell: (m) => fmtTime(m.last_updated_timestamp) },
            ]}
          />
        )}
      </Load>
    </Page>
  );
}

export function ModelPage(props: { params: Record<string, string> }) {
  const name = props.params.name;
  const model = useApi(() => keel.call("registry.getRegisteredModel", { body: { name } }), [name]);
  const versions = useApi(
    () =>
      keel.call("registry.searchModelVersions", {
        body: { filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: 1000 },
      }),
    [name],
  );
  const promos = useApi(() => keel.call("governance.listPromotions", { params: { name } }), [name]);
  return (
    <Page title={`Model ${name}`}>
      <Load res={model}>
        {(d) => (
          <Section title="Model">
            <p>{d.registered_model?.description}</p>
            <p>
              Aliases:{" "}
              {((d.registered_model?.aliases ?? []) as Array<{ alias: string; version: string }>)
                .map((a) => `@${a.alias} → v${a.version}`)
                .join(", ") || "none"}
            </p>
          </Section>
        )}
      </Load>
      <PolicySection name={name} />
      <Section title="Versions">
        <Load res={versions}>
          {(d) => (
            <div class="table-wrap">
              <table class="grid">
                <caption class="sr-only">Versions</caption>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Stage</th>
                    <th scope="col">Aliases</th>
                    <th scope="col">Run</th>
                    <th scope="col">Created</th>
                    <th scope="col">Description</th>
                  </tr>
                </thead>
                <tbody>
                  {((d.model_versions ?? []) as Version[])
                    .sort((a, b) => Number(b.version) - Number(a.version))
                    .map((v) => (
                      <tr key={v.version}>
                        <td>
                          <a href={href("models", name, "versions", v.version)}>v{v.version}</a>
                        </td>
                        <td>
                          <Status value={v.current_stage} />
                        </td>
                        <td>{(v.aliases ?? []).map((a) => `@${a}`).join(", ") || "—"}</td>
                        <td>
                          {v.run_id ? <a href={href("runs", v.run_id)}>{v.run_id.slice(0, 8)}</a> : "—"}
                        </td>
                        <td>{fmtTime(v.creation_timestamp)}</td>
                        <td>{v.description}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          )}
        </Load>
      </Section>
      <Section title="Promotion history">
        <Load res={promos}>{(d) => <PromotionTable promotions={d.promotions as Promotion[]} />}</Load>
      </Section>
    </Page>
  );
}

export function PromotionTable(props: { promotions: Promotion[] }) {
  if (props.promotions.length === 0) return <p class="muted">No promotion requests.</p>;
  return (
    <div class="table-wrap">
      <table class="grid">
        <caption class="sr-only">Promotion requests</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Target</th>
            <th scope="col">Status</th>
            <th scope="col">Requested by</th>
            <th scope="col">Reviewed by</th>
            <th scope="col">Comments</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          {[...props.promotions]
            .sort((a, b) => b.requested_at - a.requested_at)
            .map((p) => (
              <tr key={p.id}>
                <td>
                  <a href={href("models", p.model, "versions", p.version)}>v{p.version}</a>
                </td>
                <td>{targetText(p.target)}</td>
                <td>
                  <Status value={p.status} />
                  {p.auto_approved && <span class="muted"> (auto)</span>}
                </td>
                <td>{p.requester}</td>
                <td>{p.reviewer ?? "—"}</td>
                <td style="white-space:normal">
                  {p.request_comment}
                  {p.review_comment && <div class="muted">{p.review_comment}</div>}
                </td>
                <td>{fmtTime(p.reviewed_at ?? p.requested_at)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

interface Lineage {
  nodes: Array<{ id: string; type: string; label: string; attributes?: Record<string, unknown> }>;
  edges: Array<{ from: string; to: string; relation?: string }>;
}

function lineageHref(n: Lineage["nodes"][number]): string | undefined {
  const [type, rest] = [n.type, n.id.slice(n.id.indexOf(":") + 1)];
  if (type === "run") return href("runs", rest);
  if (type === "experiment") return href("experiments", rest);
  if (type === "deployment") return href("deployments", rest);
  if (type === "model_version") {
    const [m, v] = rest.split("/");
    return href("models", m, "versions", v);
  }
  if (type === "feature_view") return "/features";
  if (type === "pipeline_run") return `/pipelines/runs/${encodeURIComponent(rest)}`;
  return undefined;
}

export function VersionPage(props: { params: Record<string, string> }) {
  const { name, version } = props.params;
  const v = useApi(() => keel.call("registry.getModelVersion", { body: { name, version } }), [name, version]);
  const runId = (v.data?.model_version as Version | undefined)?.run_id;
  const run = useApi(
    async () =>
      runId ? ((await keel.call("tracking.getRun", { body: { run_id: runId } })).run as RunJson) : undefined,
    [runId],
  );
  const lineage = useApi(
    () => keel.call("governance.getLineage", { params: { name, version } }),
    [name, version],
  );
  const card = useApi(
    () => keel.call("governance.getCard", { params: { name, version }, query: { format: "html" } }),
    [name, version],
  );
  const promos = useApi(() => keel.call("governance.listPromotions", { params: { name } }), [name, version]);
  return (
    <Page title={`${name} v${version}`}>
      <div class="cards">
        <Load res={v}>
          {(d) => {
            const mv = d.model_version as Version;
            return (
              <Section title="Version">
                <KeyValues
                  label="Version"
                  data={{
                    stage: mv.current_stage,
                    aliases: (mv.aliases ?? []).map((a) => `@${a}`).join(", ") || "—",
                    status: mv.status,
                    source: mv.source,
                    created: fmtTime(mv.creation_timestamp),
                    "created by": mv.user_id,
                    description: mv.description,
                  }}
                />
                {mv.run_id && (
                  <p>
                    Trained by run <a href={href("runs", mv.run_id)}>{mv.run_id}</a>
                  </p>
                )}
              </Section>
            );
          }}
        </Load>
        <Section title="Metrics of its run">
          <Load res={run}>
            {(r) =>
              r ? (
                <KeyValues
                  label="Run metrics"
                  data={Object.fromEntries(
                    (r.data?.metrics ?? []).map((m) => [m.key, fmtNum(Number(m.value))]),
                  )}
                />
              ) : (
                <p class="muted">No run.</p>
              )
            }
          </Load>
        </Section>
        <RequestPromotion name={name} version={version} onDone={promos.reload} />
      </div>
      <Section title="Lineage">
        <Load res={lineage}>
          {(d) => {
            const l = d.lineage as unknown as Lineage;
            return (
              <Graph
                title={`Lineage of ${name} v${version}`}
                nodes={l.nodes.map(
                  (n): GraphNode => ({
                    id: n.id,
                    label: n.label,
                    sub: n.type.replace(/_/g, " "),
                    href: lineageHref(n),
                  }),
                )}
                edges={l.edges}
              />
            );
          }}
        </Load>
      </Section>
      <Section title="Promotion history">
        <Load res={promos}>
          {(d) => (
            <PromotionTable promotions={(d.promotions as Promotion[]).filter((p) => p.version === version)} />
          )}
        </Load>
      </Section>
      <Section title="Model card">
        <CardEditor name={name} version={version} onSaved={card.reload} />
        <Load res={card}>
          {(html) => (
            <iframe
              title="Model card"
              sandbox=""
              srcdoc={String(html)}
              style="width:100%;height:520px;border:0"
            />
          )}
        </Load>
      </Section>
    </Page>
  );
}

function RequestPromotion(props: { name: string; version: string; onDone: () => void }) {
  const [kind, setKind] = useState<"stage" | "alias">("stage");
  const [target, setTarget] = useState("Production");
  const [comment, setComment] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  if (!hasRole("data-scientist", "admin")) return null;
  return (
    <Section title="Request a promotion">
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const body = kind === "stage" ? { stage: target, comment } : { alias: target, comment };
            const res = await keel.call("governance.requestPromotion", {
              params: { name: props.name, version: props.version },
              body: { ...body, archive_existing_versions: false },
            });
            setMsg({ ok: `Request ${res.promotion.id}: ${res.promotion.status}` });
            props.onDone();
          } catch (err) {
            setMsg({ error: errorText(err) });
          }
        }}
      >
        <div class="inline">
          <label>
            Target
            <select value={kind} onChange={(e) => setKind(e.currentTarget.value as "stage" | "alias")}>
              <option value="stage">stage</option>
              <option value="alias">alias</option>
            </select>
          </label>
          <label>
            {kind === "stage" ? "Stage" : "Alias"}
            <input value={target} onInput={(e) => setTarget(e.currentTarget.value)} required />
          </label>
        </div>
        <label>
          Comment
          <textarea value={comment} onInput={(e) => setComment(e.currentTarget.value)} rows={2} />
        </label>
        <div class="actions">
          <button type="submit">Request promotion</button>
        </div>
        <Outcome msg={msg} />
      </form>
    </Section>
  );
}
