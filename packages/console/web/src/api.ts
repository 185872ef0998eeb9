import { KeelApiError, KeelClient } from "@keel/sdk";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import { authHeaders, SESSION_KEY as KEY, loadSession, type Session } from "./session";

export { authHeaders, loadSession, type Session };

export function saveSession(s: Session) {
  sessionStorage.removeItem(KEY);
  if (s.oidc) {
    localStorage.removeItem(KEY);
    sessionStorage.setItem(KEY, JSON.stringify(s));
  } else localStorage.setItem(KEY, JSON.stringify(s));
  keel = clientFor(s);
}

function clientFor(s: Session): KeelClient {
  return new KeelClient({
    url: location.origin,
    token: s.token || undefined,
    principal: s.principal || undefined,
  });
}

/** The one typed client (@keel/sdk over HTTP to this origin). */
export let keel: KeelClient = clientFor(loadSession());

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change (and on reload), keeping the last answer while the next one loads. */
export function useApi<T>(
  load: () => Promise<T>,
  deps: unknown[],
  opts: { pollMs?: number } = {},
): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, loading: false }),
      (error: Error) => mine === seq.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, [...deps, tick]);
  useEffect(() => {
    if (!opts.pollMs) return;
    const t = setInterval(reload, opts.pollMs);
    return () => clearInterval(t);
  }, [opts.pollMs, reload]);
  return { ...state, reload };
}

export function errorText(e: unknown): string {
  if (e instanceof KeelApiError) return `${e.errorCode}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
