import { useState } from "preact/hooks";
import { errorText, keel, useApi } from "../api";
import { ErrorBox, fmtNum, Load, Page, Section } from "../ui";

interface Defs {
  entities: Array<{ name: string; joinKey: string; valueType?: string; description?: string }>;
  featureViews: Array<{
    name: string;
    entities: string[];
    schema: Array<{ name: string; dtype: string }>;
    ttlSeconds?: number;
    source: string;
    online?: boolean;
    owner?: string;
    tags?: Record<string, string>;
    description?: string;
  }>;
  featureServices: Array<{ name: string; features: string[]; owner?: string; description?: string }>;
  sources: Array<{ name: string; path?: string; kind: string }>;
}

const ttl = (s?: number) => (s === undefined ? "—" : s % 86400 === 0 ? `${s / 86400}d` : `${s}s`);

export function FeaturesPage() {
  const res = useApi(() => keel.call("features.listDefinitions"), []);
  return (
    <Page title="Features">
      <Load res={res}>
        {(raw) => {
          const d = raw as unknown as Defs;
          return (
            <>
              <Section title="Entities">
                <table class="kv" aria-label="Entities">
                  <tbody>
                    {d.entities.map((e) => (
                      <tr key={e.name}>
                        <th scope="row">{e.name}</th>
                        <td>
                          join key <code>{e.joinKey}</code> ({e.valueType}) {e.description}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </Section>
              <Section title="Feature views">
                <div class="table-wrap">
                  <table class="grid">
                    <caption class="sr-only">Feature views</caption>
                    <thead>
                      <tr>
                        <th scope="col">View</th>
                        <th scope="col">Entities</th>
                        <th scope="col">Schema</th>
                        <th scope="col">TTL</th>
                        <th scope="col">Source</th>
                        <th scope="col">Online</th>
                        <th scope="col">Owner</th>
                        <th scope="col">Tags</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.featureViews.map((v) => (
                        <tr key={v.name}>
                          <th scope="row">{v.name}</th>
                          <td>{v.entities.join(", ")}</td>
                          <td style="white-space:normal">
                            {v.schema.map((f) => `${f.name}: ${f.dtype}`).join(", ")}
                          </td>
                          <td>{ttl(v.ttlSeconds)}</td>
                          <td>{v.source}</td>
                          <td>{v.online ? "yes" : "no"}</td>
                          <td>{v.owner ?? "—"}</td>
                          <td>
                            {Object.entries(v.tags ?? {})
                              .map(([k, x]) => `${k}=${x}`)
                              .join(", ") || "—"}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </Section>
              <Section title="Feature services">
                <table class="kv" aria-label="Feature services">
                  <tbody>
                    {d.featureServices.map((s) => (
                      <tr key={s.name}>
                        <th scope="row">{s.name}</th>
                        <td>{s.features.join(", ")}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </Section>
              <OnlineRead defs={d} />
            </>
          );
        }}
      </Load>
    </Page>
  );
}

function OnlineRead(props: { defs: Defs }) {
  const services = props.defs.featureServices;
  const [service, setService] = useState(services[0]?.name ?? "");
  const svc = services.find((s) => s.name === service);
  const view = props.defs.featureViews.find((v) => svc?.features[0]?.startsWith(`${v.name}:`));
  const entity = props.defs.entities.find((e) => e.name === view?.entities[0]) ?? props.defs.entities[0];
  const [key, setKey] = useState("");
  const [error, setError] = useState<string>();
  const [answer, setAnswer] = useState<{ names: string[]; values: unknown[]; statuses: string[] }>();
  return (
    <Section title="Try an online read">
      <form
        class="inline"
        aria-label="Online read"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            const r = await keel.call("features.getOnlineFeatures", {
              body: {
                feature_service: service,
                entities: { [entity.joinKey]: [key] },
                full_feature_names: false,
              },
            });
            setAnswer({
              names: r.metadata.feature_names,
              values: r.results.map((x) => x.values[0]),
              statuses: r.results.map((x) => x.statuses[0]),
            });
          } catch (err) {
            setError(errorText(err));
          }
        }}
      >
        <label>
          Feature service
          <select value={service} onChange={(e) => setService(e.currentTarget.value)}>
            {services.map((s) => (
              <option key={s.name}>{s.name}</option>
            ))}
          </select>
        </label>
        <label>
          {entity?.joinKey ?? "entity key"}
          <input value={key} required placeholder="u00001" onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <button type="submit">Read</button>
      </form>
      {error && <ErrorBox error={new Error(error)} />}
      {answer && (
        <table class="kv" aria-label="Online features">
          <tbody>
            {answer.names.map((n, i) => (
              <tr key={n}>
                <th scope="row">{n}</th>
                <td>
                  {fmtNum(answer.values[i])} <span class="muted">{answer.statuses[i]}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
