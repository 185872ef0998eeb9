import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { keel, useApi } from "./api";
import { setMe } from "./me";
import { ExperimentsPage } from "./pages/experiments";
import { match, useLocation } from "./router";
import { routes } from "./routes";
import { ErrorBox } from "./ui";

const NAV: Array<[string, string]> = [
  ["/experiments", "Experiments"],
  ["/models", "Models"],
  ["/reviews", "Reviews"],
  ["/pipelines", "Pipelines"],
  ["/features", "Features"],
  ["/deployments", "Deployments"],
  ["/monitoring", "Monitoring"],
  ["/gateway", "LLM usage"],
  ["/audit", "Audit"],
];

export function App() {
  const loc = useLocation();
  const [menu, setMenu] = useState(false);
  const me = useApi(() => keel.call("platform.me"), [loc.path === "/signin"]);
  setMe(me.data);
  useEffect(() => setMenu(false), [loc.path]);
  let Page: ComponentType<{ params: Record<string, string> }> = NotFound;
  let params: Record<string, string> = {};
  if (loc.path === "/") Page = ExperimentsPage;
  else
    for (const [pattern, component] of routes) {
      const m = match(pattern, loc.path);
      if (m) {
        Page = component;
        params = m;
        break;
      }
    }
  useEffect(() => {
    const h = document.querySelector("main h1");
    document.title = h?.textContent ? `${h.textContent} · Keel` : "Keel";
  });
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <button
          type="button"
          class="menu-toggle"
          aria-expanded={menu}
          aria-controls="nav"
          onClick={() => setMenu(!menu)}
        >
          Menu
        </button>
        <a class="brand" href="/experiments">
          Keel
        </a>
        <span class="who" data-testid="who">
          {me.data ? (
            <>
              <span>{me.data.principal}</span>{" "}
              <span class="muted">
                ({me.data.kind === "local" ? "laptop mode" : me.data.roles.join(", ")})
              </span>
            </>
          ) : me.error ? (
            "not signed in"
          ) : (
            ""
          )}{" "}
          <a href="/signin">{me.data ? "Switch user" : "Sign in"}</a>
        </span>
      </header>
      <nav id="nav" class={menu ? "nav open" : "nav"} aria-label="Console">
        <ul>
          {NAV.map(([to, label]) => (
            <li key={to}>
              <a href={to} aria-current={loc.path.startsWith(to) ? "page" : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Page key={loc.path} params={params} />
      </main>
    </div>
  );
}

function NotFound() {
  return <ErrorBox error={new Error(`No console page at ${location.pathname}`)} />;
}
