import { useState } from "preact/hooks";
import { errorText, keel, useApi } from "../api";
import { hasRole, whoami } from "../me";
import { href } from "../router";
import { ErrorBox, fmtNum, fmtTime, Json, Load, Page, Section } from "../ui";
import { type Promotion, targetText } from "./models";
import type { RunJson } from "./runs";

/** Every pending promotion request across models, oldest first. */
async function pendingPromotions(): Promise<Promotion[]> {
  const models = await keel.call("registry.searchRegisteredModels", { body: { max_results: 1000 } });
  const lists = await Promise.all(
    (models.registered_models ?? []).map((m) =>
      keel.call("governance.listPromotions", { params: { name: m.name }, query: { status: "PENDING" } }),
    ),
  );
  return lists.flatMap((l) => l.promotions as Promotion[]).sort((a, b) => a.requested_at - b.requested_at);
}

export function ReviewsPage() {
  const res = useApi(pendingPromotions, []);
  return (
    <Page title="Review queue">
      <p class="muted">
        Promotions to protected stages and aliases wait here for a second person. The server enforces four
        eyes: the requester cannot approve their own request, and only approvers may decide.
      </p>
      <Load res={res}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">Nothing waits for review.</p>
          ) : (
            list.map((p) => <Review key={p.id} promotion={p} onDone={res.reload} />)
          )
        }
      </Load>
    </Page>
  );
}

async function runMetrics(name: string, version: string): Promise<Record<string, number>> {
  const v = await keel.call("registry.getModelVersion", { body: { name, version } });
  const runId = (v.model_version as { run_id?: string }).run_id;
  if (!runId) return {};
  const run = (await keel.call("tracking.getRun", { body: { run_id: runId } })).run as RunJson;
  return Object.fromEntries((run.data?.metrics ?? []).map((m) => [m.key, Number(m.value)]));
}

/** The candidate's metrics against the version now in Production (if any). */
async function diffAgainstProduction(p: Promotion) {
  const latest = await keel.call("registry.getLatestVersions", {
    body: { name: p.model, stages: ["Production"] },
  });
  const prod = (latest.model_versions ?? []).find((v) => v.version !== p.version) as
    | { version: string }
    | undefined;
  const [candidate, current] = await Promise.all([
    runMetrics(p.model, p.version),
    prod ? runMetrics(p.model, prod.version) : Promise.resolve({} as Record<string, number>),
  ]);
  return { prod: prod?.version, candidate, current };
}

function Review(props: { promotion: Promotion; onDone: () => void }) {
  const p = props.promotion;
  const [comment, setComment] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const diff = useApi(() => diffAgainstProduction(p), [p.id]);
  const me = whoami();
  const mine = me?.principal === p.requester;
  const canApprove = hasRole("approver", "admin");
  const decide = async (how: "approve" | "reject") => {
    try {
      const res = await keel.call(
        how === "approve" ? "governance.approvePromotion" : "governance.rejectPromotion",
        {
          params: { id: p.id },
          body: { comment },
        },
      );
      setMsg({ ok: `${res.promotion.status} by ${res.promotion.reviewer}` });
      setTimeout(props.onDone, 1500);
    } catch (e) {
      setMsg({ error: errorText(e) });
    }
  };
  return (
    <Section title={`${p.model} v${p.version} → ${targetText(p.target)}`}>
      <div data-testid={`review-${p.id}`}>
        <p>
          Requested by <strong>{p.requester}</strong> on {fmtTime(p.requested_at)}:{" "}
          {p.request_comment || "no comment"} ·{" "}
          <a href={href("models", p.model, "versions", p.version)}>version page</a>
        </p>
        <details>
          <summary>Checks at request</summary>
          <Json value={p.checks_at_request ?? []} />
        </details>
        <Load res={diff}>
          {(d) => (
            <table class="kv" aria-label="Metrics against Production">
              <thead>
                <tr>
                  <th scope="col">metric</th>
                  <th scope="col">v{p.version} (candidate)</th>
                  <th scope="col">{d.prod ? `v${d.prod} (Production)` : "no Production version"}</th>
                </tr>
              </thead>
              <tbody>
                {[...new Set([...Object.keys(d.candidate), ...Object.keys(d.current)])].sort().map((k) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{fmtNum(d.candidate[k])}</td>
                    <td>{fmtNum(d.current[k])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Load>
        {canApprove ? (
          <form class="form" onSubmit={(e) => e.preventDefault()}>
            <label>
              Review comment
              <textarea rows={2} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
            </label>
            {mine && (
              <p class="muted" role="note">
                You requested this promotion: a second person must approve it (four eyes).
              </p>
            )}
            <div class="actions">
              <button type="button" disabled={mine} onClick={() => decide("approve")}>
                Approve
              </button>
              <button type="button" class="danger" onClick={() => decide("reject")}>
                Reject
              </button>
            </div>
          </form>
        ) : (
          <p class="muted" role="note">
            Only an approver (not the requester) can decide this request.
          </p>
        )}
        {msg.ok && (
          <p class="ok-box" role="status">
            {msg.ok}
          </p>
        )}
        {msg.error && <ErrorBox error={new Error(msg.error)} />}
      </div>
    </Section>
  );
}
