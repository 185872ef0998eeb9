import { z } from "zod";
import { registryErrors } from "./errors";
import type { RunRecord } from "./ports";
import { STAGES, type Stage, type Target, type VersionRecord } from "./records";

const OPS = [">=", ">", "<=", "<", "==", "!="] as const;
type Op = (typeof OPS)[number];

const metricCheck = z.object({
  type: z.literal("metric"),
  key: z.string().min(1),
  op: z.enum(OPS),
  value: z.number(),
});
const cardCheck = z.object({ type: z.literal("model_card") });
export const checkSchema = z.discriminatedUnion("type", [metricCheck, cardCheck]);
export type Check = z.infer<typeof checkSchema>;

/**
 * A check as people write it: "auc >= 0.9" for a metric of the source run, or "model_card"
 * for a model card whose intended use has been written. Objects pass through unchanged.
 */
export const checkInput = z.union([
  checkSchema,
  z.string().transform((s, ctx): Check => {
    const text = s.trim();
    if (/^model[_ ]card$/i.test(text)) return { type: "model_card" };
    const m = /^([\w.\-/]+)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)$/i.exec(text);
    if (!m) {
      ctx.addIssue({
        code: "custom",
        message: `'${s}' is not a check: write 'metric >= number' or 'model_card'`,
      });
      return z.NEVER;
    }
    return { type: "metric", key: m[1], op: m[2] as Op, value: Number(m[3]) };
  }),
]);

const stageName = z.string().transform((s, ctx) => {
  const found = STAGES.find((x) => x.toLowerCase() === s.trim().toLowerCase());
  if (!found || found === "None") {
    ctx.addIssue({
      code: "custom",
      message: `'${s}' cannot be protected: use Staging, Production or Archived`,
    });
    return z.NEVER;
  }
  return found;
});

const aliasName = z
  .string()
  .min(1)
  .refine((s) => !STAGES.some((x) => x.toLowerCase() === s.toLowerCase()), {
    message: "an alias may not be named like a stage",
  });

export const policyInput = z.object({
  protected_stages: z.array(stageName).optional(),
  protected_aliases: z.array(aliasName).optional(),
  checks: z.array(checkInput).optional(),
});

export interface Policy {
  protectedStages: Stage[];
  protectedAliases: string[];
  checks: Check[];
  updatedBy?: string;
  updatedAt?: number;
}

/** What every model gets until someone sets a policy: Production and `champion` need approval. */
export const DEFAULT_POLICY: Policy = {
  protectedStages: ["Production"],
  protectedAliases: ["champion"],
  checks: [],
};

export function isProtected(policy: Policy, target: Target): boolean {
  return target.kind === "stage"
    ? policy.protectedStages.includes(target.stage)
    : policy.protectedAliases.includes(target.alias);
}

export function describeCheck(c: Check): string {
  return c.type === "metric" ? `${c.key} ${c.op} ${c.value}` : "model card with intended use";
}

export interface CheckResult {
  check: string;
  passed: boolean;
  observed?: number | string;
  message: string;
}

function compare(a: number, op: Op, b: number): boolean {
  switch (op) {
    case ">=":
      return a >= b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    case "<":
      return a < b;
    case "==":
      return a === b;
    default:
      return a !== b;
  }
}

/**
 * Evaluates every check against the version and its source run. A check that cannot be
 * evaluated (no run, metric never logged) fails with the reason, rather than passing.
 */
export function evaluateChecks(
  checks: Check[],
  version: VersionRecord,
  run: RunRecord | undefined,
): CheckResult[] {
  return checks.map((c): CheckResult => {
    const label = describeCheck(c);
    if (c.type === "model_card") {
      const ok = Boolean(version.intendedUse?.trim());
      return {
        check: label,
        passed: ok,
        message: ok ? "intended use is documented" : "the model card has no intended use",
      };
    }
    if (!run) return { check: label, passed: false, message: "the source run is not available" };
    const metric = run.run.data.metrics?.find((m) => m.key === c.key);
    if (!metric)
      return { check: label, passed: false, message: `metric '${c.key}' was not logged by the source run` };
    const value = Number(metric.value);
    const ok = compare(value, c.op, c.value);
    return { check: label, passed: ok, observed: value, message: `${c.key} = ${metric.value}` };
  });
}

export function failedChecks(results: CheckResult[]): string {
  return results
    .filter((r) => !r.passed)
    .map((r) => `${r.check} (${r.message})`)
    .join("; ");
}

export function parsePolicy(value: unknown, current: Policy): Omit<Policy, "updatedBy" | "updatedAt"> {
  const r = policyInput.safeParse(value);
  if (!r.success) {
    throw registryErrors.invalid(
      `invalid policy: ${r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`,
    );
  }
  return {
    protectedStages: r.data.protected_stages ?? current.protectedStages,
    protectedAliases: r.data.protected_aliases ?? current.protectedAliases,
    checks: r.data.checks ?? current.checks,
  };
}

/** Whether passing `strict` implies passing `loose` (both metric checks on the same key). */
function implies(strict: Check, loose: Check): boolean {
  if (strict.type !== loose.type) return false;
  if (strict.type === "model_card" || loose.type === "model_card") return true;
  if (strict.key !== loose.key) return false;
  const [s, l] = [strict, loose];
  if (s.op === l.op && s.value === l.value) return true;
  const lower = (op: Op) => op === ">=" || op === ">";
  const upper = (op: Op) => op === "<=" || op === "<";
  if (lower(l.op)) {
    if (s.op === "==") return compare(s.value, l.op, l.value);
    if (!lower(s.op)) return false;
    return s.value > l.value || (s.value === l.value && (s.op === l.op || s.op === ">"));
  }
  if (upper(l.op)) {
    if (s.op === "==") return compare(s.value, l.op, l.value);
    if (!upper(s.op)) return false;
    return s.value < l.value || (s.value === l.value && (s.op === l.op || s.op === "<"));
  }
  return false;
}

/**
 * What `next` gives up compared with `current`: protected stages or aliases removed, checks
 * removed or loosened (a check is kept when some check of `next` implies it). Empty when
 * `next` is at least as strict, which may then apply at once; anything else needs a second admin.
 */
export function weakenings(current: Policy, next: Omit<Policy, "updatedBy" | "updatedAt">): string[] {
  const out: string[] = [];
  for (const s of current.protectedStages)
    if (!next.protectedStages.includes(s)) out.push(`stage '${s}' is no longer protected`);
  for (const a of current.protectedAliases)
    if (!next.protectedAliases.includes(a)) out.push(`alias '${a}' is no longer protected`);
  for (const c of current.checks)
    if (!next.checks.some((n) => implies(n, c)))
      out.push(`check '${describeCheck(c)}' is removed or loosened`);
  return out;
}
