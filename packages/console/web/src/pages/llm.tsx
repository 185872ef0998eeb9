import { keel, useApi } from "../api";
import { setQuery, useLocation } from "../router";
import { Load, Page, Section } from "../ui";

interface UsageRow {
  team: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  latencyMs: number;
  ttftMs?: number;
  status: number;
  fallbacks: number;
  cacheHit: boolean;
}

interface Group {
  key: string;
  requests: number;
  errors: number;
  fallbacks: number;
  cacheHits: number;
  tokensIn: number;
  tokensOut: number;
  cost: number;
  latencies: number[];
  ttfts: number[];
}

const WINDOWS: Array<[string, number]> = [
  ["1h", 3_600_000],
  ["24h", 86_400_000],
  ["7d", 7 * 86_400_000],
  ["30d", 30 * 86_400_000],
];

function group(rows: UsageRow[], keyOf: (r: UsageRow) => string): Group[] {
  const out = new Map<string, Group>();
  for (const r of rows) {
    const key = keyOf(r);
    let g = out.get(key);
    if (!g) {
      g = {
        key,
        requests: 0,
        errors: 0,
        fallbacks: 0,
        cacheHits: 0,
        tokensIn: 0,
        tokensOut: 0,
        cost: 0,
        latencies: [],
        ttfts: [],
      };
      out.set(key, g);
    }
    g.requests++;
    if (r.status >= 400) g.errors++;
    if (r.fallbacks > 0) g.fallbacks++;
    if (r.cacheHit) g.cacheHits++;
    g.tokensIn += r.tokensIn;
    g.tokensOut += r.tokensOut;
    g.cost += r.cost;
    g.latencies.push(r.latencyMs);
    if (r.ttftMs !== undefined) g.ttfts.push(r.ttftMs);
  }
  return [...out.values()].sort((a, b) => b.cost - a.cost || b.requests - a.requests);
}

function pct(xs: number[], p: number): string {
  if (!xs.length) return "–";
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(0);
}

function UsageTable(props: { title: string; label: string; groups: Group[] }) {
  return (
    <Section title={props.title}>
      <div class="table-wrap">
        <table class="grid" aria-label={props.title}>
          <thead>
            <tr>
              <th scope="col">{props.label}</th>
              <th scope="col">Requests</th>
              <th scope="col">Tokens in</th>
              <th scope="col">Tokens out</th>
              <th scope="col">Cost (USD)</th>
              <th scope="col">Latency p50 / p99 (ms)</th>
              <th scope="col">TTFT p50 (ms)</th>
              <th scope="col">Errors</th>
              <th scope="col">Fallbacks</th>
              <th scope="col">Cache hits</th>
            </tr>
          </thead>
          <tbody>
            {props.groups.map((g) => (
              <tr key={g.key} data-testid={`llm-row-${g.key}`}>
                <th scope="row">{g.key}</th>
                <td>{g.requests}</td>
                <td>{g.tokensIn}</td>
                <td>{g.tokensOut}</td>
                <td>{g.cost.toFixed(6)}</td>
                <td>
                  {pct(g.latencies, 50)} / {pct(g.latencies, 99)}
                </td>
                <td>{pct(g.ttfts, 50)}</td>
                <td>{g.errors}</td>
                <td>{g.fallbacks}</td>
                <td>{g.cacheHits}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

/** LLM gateway usage: cost and tokens per team and model, latency and TTFT, errors, fallbacks. */
export function LlmPage() {
  const { query } = useLocation();
  const win = query.get("window") ?? "24h";
  const ms = WINDOWS.find(([w]) => w === win)?.[1] ?? 86_400_000;
  const res = useApi(
    async () =>
      (await keel.call("llm.usage", { query: { from: Date.now() - ms, limit: 10_000 } })).usage as UsageRow[],
    [ms],
  );
  return (
    <Page
      title="LLM usage"
      actions={
        <nav class="inline" aria-label="Window">
          {WINDOWS.map(([w]) => (
            <button
              type="button"
              key={w}
              class={w === win ? "" : "secondary"}
              aria-pressed={w === win}
              onClick={() => setQuery({ window: w })}
            >
              {w}
            </button>
          ))}
        </nav>
      }
    >
      <Load res={res}>
        {(rows) =>
          rows.length === 0 ? (
            <p>No gateway requests in the last {win}.</p>
          ) : (
            <>
              <UsageTable
                title="By team and model"
                label="Team / model"
                groups={group(rows, (r) => `${r.team}/${r.model}`)}
              />
              <UsageTable title="By team" label="Team" groups={group(rows, (r) => r.team)} />
              <UsageTable title="By model" label="Model" groups={group(rows, (r) => r.model)} />
            </>
          )
        }
      </Load>
    </Page>
  );
}
