import { useState } from "preact/hooks";
import { errorText, keel } from "./api";
import { hasRole } from "./me";
import { ErrorBox, Outcome } from "./ui";

/** The text of one `## heading` section of the Markdown card ("" when not documented yet). */
export function cardSection(markdown: string, heading: string): string {
  const m = markdown.match(new RegExp(`^## ${heading}\\n+([\\s\\S]*?)(?=\\n## |$)`, "m"));
  const text = m?.[1]?.trim() ?? "";
  return text === "Not documented yet." ? "" : text;
}

/**
 * Edits a version's intended use and limitations (`PUT .../card`, the CLI's `keel model card
 * --intended-use --limitations`). Shown to those whose roles may write; the server decides.
 */
export function CardEditor(props: { name: string; version: string; onSaved: () => void }) {
  const [open, setOpen] = useState(false);
  const [intended, setIntended] = useState("");
  const [limits, setLimits] = useState("");
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  if (!hasRole("data-scientist", "admin")) return null;
  const params = { name: props.name, version: props.version };
  const start = async () => {
    setMsg({});
    try {
      const md = String(await keel.call("governance.getCard", { params, query: { format: "markdown" } }));
      setIntended(cardSection(md, "Intended use"));
      setLimits(cardSection(md, "Limitations"));
      setOpen(true);
    } catch (e) {
      setMsg({ error: errorText(e) });
    }
  };
  if (!open)
    return (
      <>
        <button type="button" onClick={start}>
          Edit model card
        </button>
        <Outcome msg={msg} />
      </>
    );
  return (
    <form
      class="form"
      aria-label="Edit model card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await keel.call("governance.setCard", {
            params,
            body: { intended_use: intended, limitations: limits },
          });
          setOpen(false);
          setMsg({ ok: "Model card saved" });
          props.onSaved();
        } catch (err) {
          setMsg({ error: errorText(err) });
        }
      }}
    >
      <label>
        Intended use
        <textarea rows={4} value={intended} onInput={(e) => setIntended(e.currentTarget.value)} />
      </label>
      <label>
        Limitations
        <textarea rows={4} value={limits} onInput={(e) => setLimits(e.currentTarget.value)} />
      </label>
      <div class="actions">
        <button type="submit">Save card</button>
        <button type="button" class="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      {msg.error && <ErrorBox error={new Error(msg.error)} />}
    </form>
  );
}
