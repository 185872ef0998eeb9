import { NagSuppressions, type RegexAppliesTo } from "cdk-nag";
import type { IConstruct } from "constructs";

/** [rule id, why it does not apply here, optional findings it is limited to]. */
export type Suppression = readonly [id: string, reason: string, appliesTo?: Array<string | RegexAppliesTo>];

/**
 * Suppresses cdk-nag findings on a construct and its children. Every suppression carries a
 * written reason, and wildcard findings are limited (`appliesTo`) to the grants they explain.
 */
export function suppress(scope: IConstruct, rules: Suppression[]): void {
  NagSuppressions.addResourceSuppressions(
    scope,
    rules.map(([id, reason, appliesTo]) => ({ id, reason, ...(appliesTo ? { appliesTo } : {}) })),
    true,
  );
}

/** An `appliesTo` matcher for IAM5 resource findings ending in `suffix` (e.g. "/index/*"). */
export function resourceEndingWith(suffix: string): RegexAppliesTo {
  return { regex: `/^Resource::.*${suffix.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$/g` };
}
