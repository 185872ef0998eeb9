import { useState } from "preact/hooks";
import { errorText, keel } from "./api";
import { hasRole } from "./me";
import { href, navigate } from "./router";
import { ErrorBox, Json, Section } from "./ui";

/** `keel pipeline compile`: the pipeline's Amazon States Language, fetched when opened. */
export function DefinitionSection(props: { name: string }) {
  const [asl, setAsl] = useState<unknown>();
  const [error, setError] = useState<string>();
  return (
    <Section title="Definition">
      <details
        onToggle={async (e) => {
          if (!(e.currentTarget as HTMLDetailsElement).open || asl !== undefined) return;
          try {
            setAsl(await keel.call("pipelines.getDefinition", { params: { name: props.name } }));
          } catch (err) {
            setError(errorText(err));
          }
        }}
      >
        <summary>Amazon States Language (what the pipeline compiles to)</summary>
        {asl !== undefined && <Json value={asl} />}
        {error && <ErrorBox error={new Error(error)} />}
      </details>
    </Section>
  );
}

/** `keel pipeline reproduce <runId>`: re-run a finished run with its params and no step cache. */
export function ReproduceButton(props: { runId: string; status: string; onError: (m: string) => void }) {
  if (props.status === "RUNNING" || !hasRole("data-scientist", "admin")) return null;
  return (
    <button
      type="button"
      class="secondary"
      onClick={async () => {
        try {
          const r = await keel.call("validation.reproduceRun", { params: { id: props.runId } });
          navigate(href("pipelines", "runs", r.run.runId));
        } catch (e) {
          props.onError(errorText(e));
        }
      }}
    >
      Reproduce
    </button>
  );
}
