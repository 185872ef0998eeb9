import { KeelError } from "@keel/core";
import type { z } from "zod";

/** The sentence MLflow's `_validate_param_against_schema` ends every parameter error with. */
const API_DOCS_HINT = " See the API docs for more information about request parameters.";

/** Python's `type(value).__name__` for a decoded JSON value, as MLflow's hint names it. */
function pythonTypeName(value: unknown): string {
  if (value === null) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  return "dict";
}

function formatValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** `metrics[0].key` for the zod path ["metrics", 0, "key"], as MLflow names a nested field. */
function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((seg, i) => (typeof seg === "number" ? `[${seg}]` : i ? `.${String(seg)}` : String(seg)))
    .join("");
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur = raw;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/**
 * MLflow's message for the first bad field of a request, worded as MLflow 2.17's server words
 * it: an absent or empty field (nested ones named like `metrics[0].key`) is a missing value; any
 * other bad value names the top-level parameter, its value and its Python type.
 */
export function mlflowIssueMessage(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  const value = valueAt(raw, issue.path);
  if (issue.path.length && (value === undefined || value === null || value === "")) {
    return `Missing value for required parameter '${fieldName(issue.path)}'.${API_DOCS_HINT}`;
  }
  const param = String(issue.path[0] ?? "request");
  const top = issue.path.length ? raw[param] : raw;
  return (
    `Invalid value ${formatValue(top)} for parameter '${param}' supplied.` +
    ` Hint: Value was of type '${pythonTypeName(top)}'.${API_DOCS_HINT}`
  );
}

/** Parses an MLflow request message, failing with INVALID_PARAMETER_VALUE in MLflow's words. */
export function parseMlflowRequest<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const [first] = r.error.issues;
  throw new KeelError("INVALID_PARAMETER_VALUE", first ? mlflowIssueMessage(first, raw) : "invalid request");
}
