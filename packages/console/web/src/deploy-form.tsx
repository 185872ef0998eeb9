import { useState } from "preact/hooks";
import { ActionForm } from "./action-form";
import { keel } from "./api";
import { hasRole } from "./me";
import { href, navigate } from "./router";
import { Section } from "./ui";

/** `keel deploy create <name> <model> <version> [--production]` from the browser. */
export function CreateDeploymentForm() {
  const [name, setName] = useState("");
  const [model, setModel] = useState("");
  const [version, setVersion] = useState("");
  const [production, setProduction] = useState(false);
  if (!hasRole("deployer", "admin")) return null;
  return (
    <Section title="Create a deployment">
      <ActionForm
        label="Create a deployment"
        submit="Create deployment"
        class="inline"
        run={async () => {
          const d = await keel.call("deployments.create", {
            body: { name, model, version, environment: production ? "production" : "staging" },
          });
          navigate(href("deployments", d.name));
          return `Deployment ${d.name} created`;
        }}
      >
        <label>
          Name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Model
          <input required value={model} onInput={(e) => setModel(e.currentTarget.value)} />
        </label>
        <label>
          Version
          <input required value={version} onInput={(e) => setVersion(e.currentTarget.value)} />
        </label>
        <label style="display:flex;gap:4px;align-items:center">
          <input
            type="checkbox"
            checked={production}
            onChange={(e) => setProduction(e.currentTarget.checked)}
          />
          Production
        </label>
      </ActionForm>
    </Section>
  );
}
