import { useEffect, useState } from "preact/hooks";
import { loadSession, saveSession, useApi } from "../api";
import { finishOidcSignIn, loadOidcConfig, signOut, startOidcSignIn } from "../oidc";
import { ErrorBox } from "../ui";

export function SignInPage() {
  const s = loadSession();
  const [token, setToken] = useState(s.oidc ? "" : (s.token ?? ""));
  const [principal, setPrincipal] = useState(s.principal ?? "");
  const [error, setError] = useState<unknown>();
  const oidc = useApi(() => loadOidcConfig(), []);
  return (
    <section class="page">
      <h1>Sign in</h1>
      {oidc.data && (
        <div class="actions">
          <button
            type="button"
            onClick={() => startOidcSignIn(oidc.data as NonNullable<typeof oidc.data>).catch(setError)}
          >
            Sign in with the identity provider
          </button>
          {error !== undefined && <ErrorBox error={error} />}
        </div>
      )}
      <p class="muted">
        With <code>keel dev --auth</code> or in AWS, paste an API token (<code>keel users add</code> prints
        one). On a laptop-mode server, a name is enough: it is recorded as who acted.
      </p>
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          saveSession({ token: token.trim() || undefined, principal: principal.trim() || undefined });
          location.assign("/experiments");
        }}
      >
        <label>
          API token
          <input
            type="password"
            value={token}
            autocomplete="off"
            onInput={(e) => setToken(e.currentTarget.value)}
          />
        </label>
        <label>
          Name (laptop mode)
          <input value={principal} onInput={(e) => setPrincipal(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button type="submit">Sign in</button>
          <button type="button" class="secondary" onClick={() => signOut(loadSession())}>
            Sign out
          </button>
        </div>
      </form>
    </section>
  );
}

/** Where the identity provider sends the browser back with `code` and `state`. */
export function SignInCallbackPage() {
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    // A fresh page load: the header asks "who am I?" again with the new token.
    finishOidcSignIn(new URLSearchParams(location.search)).then(
      () => location.replace("/experiments"),
      setError,
    );
  }, []);
  return (
    <section class="page">
      <h1>Signing in</h1>
      {error === undefined ? (
        <p class="muted" role="status">
          Exchanging the code…
        </p>
      ) : (
        <ErrorBox error={error} />
      )}
      <a href="/signin">Back to sign-in</a>
    </section>
  );
}
