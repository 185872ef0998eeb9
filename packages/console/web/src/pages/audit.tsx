import { useState } from "preact/hooks";
import { errorText, keel, useApi } from "../api";
import { setQuery, useLocation } from "../router";
import { ErrorBox, Json, KeyValues, Load, Page, Pager, Section } from "../ui";

const FILTERS = ["principal", "action", "resource_prefix", "from", "to"] as const;
/** Page tokens per filter, so "previous" works. */
const tokens = new Map<string, string[]>();

/** The audit trail: filters and paging in the URL, event detail with its hash and predecessor, verify. */
export function AuditPage() {
  const { query } = useLocation();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ""])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const page = Number(query.get("page") ?? 0);
  const selected = query.get("event");
  const [draft, setDraft] = useState(filters);
  const key = JSON.stringify(filters);
  const res = useApi(async () => {
    const seen = tokens.get(key) ?? [""];
    tokens.set(key, seen);
    const p = Math.min(page, seen.length - 1);
    const toMs = (s: string) => (s ? String(Date.parse(s) || s) : undefined);
    const r = await keel.call("audit.list", {
      query: {
        principal: filters.principal || undefined,
        action: filters.action || undefined,
        resource_prefix: filters.resource_prefix || undefined,
        from: toMs(filters.from),
        to: toMs(filters.to),
        max_results: 100,
        page_token: seen[p] || undefined,
      },
    });
    if (r.next_page_token && seen.length === p + 1) seen.push(r.next_page_token);
    return r;
  }, [key, page]);
  const [verify, setVerify] = useState<{ result?: Record<string, unknown>; error?: string; busy?: boolean }>(
    {},
  );
  const events = res.data?.events ?? [];
  const event = events.find((e) => String(e.seq) === selected);
  const predecessor = event ? events.find((e) => e.seq === event.seq - 1) : undefined;
  return (
    <Page
      title="Audit trail"
      actions={
        <button
          type="button"
          disabled={verify.busy}
          onClick={async () => {
            setVerify({ busy: true });
            try {
              setVerify({ result: (await keel.call("audit.verify")) as Record<string, unknown> });
            } catch (e) {
              setVerify({ error: errorText(e) });
            }
          }}
        >
          Verify the chain
        </button>
      }
    >
      {verify.result && (
        <p class={verify.result.ok ? "ok-box" : "error"} role="status" data-testid="verify-result">
          {verify.result.ok
            ? `Chain verified: ok ${verify.result.events ?? verify.result.count ?? ""} events`
            : `Verification FAILED: ${JSON.stringify(verify.result)}`}
        </p>
      )}
      {verify.error && <ErrorBox error={new Error(verify.error)} />}
      <form
        class="inline"
        aria-label="Filter events"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ ...draft, page: undefined, event: undefined }, { push: true });
        }}
      >
        {FILTERS.map((f) => (
          <label key={f}>
            {f.replace("_", " ")}
            <input
              name={f}
              {...(f === "from" || f === "to"
                ? { type: "datetime-local" as const }
                : { type: "text" as const })}
              value={draft[f]}
              onInput={(e) => setDraft({ ...draft, [f]: e.currentTarget.value })}
            />
          </label>
        ))}
        <button type="submit">Filter</button>
      </form>
      <Load res={res}>
        {() => (
          <div class="split" style="margin-top:12px">
            <div class="table-wrap">
              <table class="grid">
                <caption class="sr-only">Audit events</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Time</th>
                    <th scope="col">Principal</th>
                    <th scope="col">Action</th>
                    <th scope="col">Resource</th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e) => (
                    <tr key={e.seq} aria-selected={String(e.seq) === selected}>
                      <td>
                        <a
                          href={`?${new URLSearchParams({ ...Object.fromEntries(query), event: String(e.seq) })}`}
                        >
                          {e.seq}
                        </a>
                      </td>
                      <td>{new Date(e.time).toLocaleString()}</td>
                      <td>{e.principal}</td>
                      <td>{e.action}</td>
                      <td>{e.resource}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Section title={event ? `Event ${event.seq}` : "Event detail"}>
              {event ? (
                <>
                  <KeyValues
                    label="Event"
                    data={{
                      seq: event.seq,
                      time: event.time_iso,
                      principal: event.principal,
                      action: event.action,
                      resource: event.resource,
                      "request id": event.request_id ?? "—",
                      hash: event.hash,
                      "previous hash": event.prev_hash,
                      "state digest": event.state_digest,
                    }}
                  />
                  <p>
                    Predecessor:{" "}
                    {event.seq <= 1 ? (
                      "none (first event)"
                    ) : (
                      <a
                        href={`?${new URLSearchParams({ ...Object.fromEntries(query), event: String(event.seq - 1) })}`}
                      >
                        event {event.seq - 1}
                      </a>
                    )}
                    {predecessor &&
                      (predecessor.hash === event.prev_hash ? " (hash links)" : " (hash does NOT link)")}
                  </p>
                  <Json value={event.state ?? null} />
                </>
              ) : (
                <p class="muted">Pick an event.</p>
              )}
            </Section>
          </div>
        )}
      </Load>
      <Pager page={page} hasNext={Boolean(res.data?.next_page_token)} />
    </Page>
  );
}
