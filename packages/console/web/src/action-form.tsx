import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { errorText } from "./api";
import { Outcome } from "./ui";

/**
 * A form that runs one API action and shows its answer (a line of success or the server's error).
 * `run` returns the success text; the form stays filled on error so the person can fix and retry.
 */
export function ActionForm(props: {
  label: string;
  submit: string;
  run: () => Promise<string>;
  class?: string;
  children: ComponentChildren;
}) {
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const [busy, setBusy] = useState(false);
  return (
    <form
      class={props.class ?? "form"}
      aria-label={props.label}
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        try {
          setMsg({ ok: await props.run() });
        } catch (err) {
          setMsg({ error: errorText(err) });
        } finally {
          setBusy(false);
        }
      }}
    >
      {props.children}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {props.submit}
        </button>
      </div>
      <Outcome msg={msg} />
    </form>
  );
}
