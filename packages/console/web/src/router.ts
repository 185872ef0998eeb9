import { useEffect, useState } from "preact/hooks";

/** The console's location: path and query, from the browser's history (back/forward work). */
export interface Loc {
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();
const current = (): Loc => ({ path: location.pathname, query: new URLSearchParams(location.search) });

window.addEventListener("popstate", () => {
  for (const l of listeners) l();
});

/** Goes to a console URL (a new history entry, or `replace` for the same page's state). */
export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (to === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  for (const l of listeners) l();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** Replaces some query parameters of the current URL (undefined or "" removes one). */
export function setQuery(
  changes: Record<string, string | number | undefined>,
  opts: { push?: boolean } = {},
) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(`${location.pathname}${s ? `?${s}` : ""}`, { replace: !opts.push });
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return loc;
}

/** Matches `/models/:name/versions/:version` against a path; answers the decoded parameters. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const names: string[] = [];
  const re = new RegExp(
    `^${pattern.replace(/\/:(\w+)(\*)?/g, (_, n: string, star?: string) => {
      names.push(n);
      return star ? "/(.*)" : "/([^/]+)";
    })}/?$`,
  );
  const m = re.exec(path);
  if (!m) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
}

/** Plain left clicks on same-origin links stay in the app; others (new tab, download) are the browser's. */
document.addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
  if (a.dataset.external !== undefined || /^\/(api|ajax-api|v2)\//.test(a.pathname)) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
});

/** A console URL with its path parameters encoded. */
export const href = (...parts: Array<string | number>) =>
  `/${parts.map((p) => encodeURIComponent(String(p))).join("/")}`;
