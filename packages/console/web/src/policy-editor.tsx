import { useState } from "preact/hooks";
import { ActionForm } from "./action-form";
import { keel, useApi } from "./api";
import { hasRole } from "./me";
import { Json, Load, Section } from "./ui";

/**
 * A model's promotion policy (`keel model policy <name> [--protect-stage ...] [--check ...]`):
 * everyone who can read sees it; an admin edits it as JSON. A weaker policy comes back as a
 * pending change a second admin decides (the server says so).
 */
export function PolicySection(props: { name: string }) {
  const params = { name: props.name };
  const policy = useApi(() => keel.call("governance.getPolicy", { params }), [props.name]);
  const [draft, setDraft] = useState<string>();
  return (
    <Section title="Promotion policy">
      <Load res={policy}>{(d) => <Json value={d.policy} />}</Load>
      {hasRole("admin") && policy.data && (
        <ActionForm
          label="Edit promotion policy"
          submit="Save policy"
          run={async () => {
            const r = await keel.call("governance.setPolicy", {
              params,
              body: JSON.parse(draft ?? JSON.stringify(policy.data?.policy)),
            });
            policy.reload();
            return "policy_change" in r
              ? `This weakens the policy: change ${r.policy_change.id} waits for another admin`
              : "Policy saved";
          }}
        >
          <label>
            Policy (JSON)
            <textarea
              rows={8}
              value={draft ?? JSON.stringify(policy.data.policy, null, 2)}
              onInput={(e) => setDraft(e.currentTarget.value)}
            />
          </label>
        </ActionForm>
      )}
    </Section>
  );
}
