import { useState } from "preact/hooks";
import { loadSession, saveSession } from "../api";

export function SignInPage() {
  const s = loadSession();
  const [token, setToken] = useState(s.token ?? "");
  const [principal, setPrincipal] = useState(s.principal ?? "");
  return (
    <section class="page">
      <h1>Sign in</h1>
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
          <button
            type="button"
            class="secondary"
            onClick={() => {
              saveSession({});
              location.assign("/experiments");
            }}
          >
            Sign out
          </button>
        </div>
      </form>
    </section>
  );
}
