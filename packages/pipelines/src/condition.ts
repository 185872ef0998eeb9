import type { Condition, ConditionOp } from "./definition";
import { badDefinition } from "./errors";

export interface Comparison {
  step: string;
  /** Field path inside the step's output, dot separated. */
  path: string;
  op: ConditionOp;
  value: number | string | boolean;
}

const SHORTHAND = /^\s*([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)+)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$/;

function literal(text: string, whole: string): number | string | boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) return Number(text);
  const quoted = /^"(.*)"$|^'(.*)'$/.exec(text);
  if (quoted) return quoted[1] ?? quoted[2] ?? "";
  throw badDefinition(`condition "${whole}": ${text} is not a number, true/false or a quoted string`);
}

/** Parses "evaluate.auc >= 0.95" into a comparison; names the part it cannot read. */
export function parseComparison(text: string): Comparison {
  const m = SHORTHAND.exec(text);
  if (!m)
    throw badDefinition(
      `condition "${text}" must look like "<step>.<field> <op> <value>" with op one of >= > <= < == !=`,
    );
  return { step: m[1], path: m[2].slice(1), op: m[3] as ConditionOp, value: literal(m[4], text) };
}

/** Every step a condition reads (the gate depends on them). */
export function conditionSteps(c: Condition): string[] {
  if (typeof c === "string") return [parseComparison(c).step];
  if ("ref" in c) return [c.ref.split(".")[0]];
  if ("all" in c) return c.all.flatMap(conditionSteps);
  if ("any" in c) return c.any.flatMap(conditionSteps);
  return conditionSteps(c.not);
}

type AslRule = Record<string, unknown>;

function comparisonRule(cmp: Comparison, where: string): AslRule {
  const Variable = `$.steps.${cmp.step}.${cmp.path}`;
  const { op, value } = cmp;
  const eq = (name: string): AslRule => ({ Variable, [name]: value });
  if (typeof value === "boolean") {
    if (op !== "==" && op !== "!=") throw badDefinition(`${where}: booleans only compare with == or !=`);
    return op === "==" ? eq("BooleanEquals") : { Not: eq("BooleanEquals") };
  }
  const family = typeof value === "number" ? "Numeric" : "String";
  const names: Record<ConditionOp, string> = {
    ">=": "GreaterThanEquals",
    ">": "GreaterThan",
    "<=": "LessThanEquals",
    "<": "LessThan",
    "==": "Equals",
    "!=": "Equals",
  };
  const rule = eq(`${family}${names[op]}`);
  return op === "!=" ? { Not: rule } : rule;
}

/** Compiles a gate condition to an ASL Choice rule (without Next). */
export function conditionToAsl(c: Condition, where: string): AslRule {
  if (typeof c === "string") return comparisonRule(parseComparison(c), where);
  if ("ref" in c) {
    const [step, ...rest] = c.ref.split(".");
    return comparisonRule({ step, path: rest.join("."), op: c.op, value: c.value }, where);
  }
  if ("all" in c) return { And: c.all.map((x) => conditionToAsl(x, where)) };
  if ("any" in c) return { Or: c.any.map((x) => conditionToAsl(x, where)) };
  return { Not: conditionToAsl(c.not, where) };
}
