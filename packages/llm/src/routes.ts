import { type LlmRoute as Route, llmRouteSchema as routeSchema } from "@keel/contract";
import { z } from "zod";

export {
  GUARD_MODES,
  type GuardMode,
  type LlmDeployment as Deployment,
  type LlmGuardrails as Guardrails,
  type LlmLimits as Limits,
  type LlmRoute as Route,
  type LlmRouteInput as RouteInput,
  llmRouteSchema as routeSchema,
  PII_KINDS,
  type PiiKind,
} from "@keel/contract";

/**
 * Routes from configuration (`KEEL_LLM_UPSTREAMS`): a JSON array of routes, or the short form
 * `<model>=<OpenAI-compatible base URL>` (comma-separated), e.g. `llama3=http://localhost:11434/v1`.
 */
export function routesFromConfig(value: string | undefined): Route[] {
  const text = value?.trim();
  if (!text) return [];
  if (text.startsWith("[")) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new Error(`KEEL_LLM_UPSTREAMS: not valid JSON: ${(e as Error).message}`);
    }
    const r = z.array(routeSchema).safeParse(raw);
    if (!r.success)
      throw new Error(
        `KEEL_LLM_UPSTREAMS: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    return r.data;
  }
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf("=");
      if (eq <= 0) throw new Error(`KEEL_LLM_UPSTREAMS: '${entry}' is not <model>=<base URL>`);
      const model = entry.slice(0, eq);
      return routeSchema.parse({
        model,
        deployments: [{ id: "default", provider: "openai", model, baseURL: entry.slice(eq + 1) }],
      });
    });
}
