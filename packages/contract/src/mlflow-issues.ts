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

/** MLflow's message for the first bad field of a request, worded as MLflow 2.17's server words it. */
export function mlflowIssueMessage(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  const param = String(issue.path[0] ?? "request");
  const value = issue.path.length ? raw[param] : raw;
  if (value === undefined || value === null || value === "") {
    return `Missing value for required parameter '${param}'.${API_DOCS_HINT}`;
  }
  return (
    `Invalid value ${formatValue(value)} for parameter '${param}' supplied.` +
    ` Hint: Value was of type '${pythonTypeName(value)}'.${API_DOCS_HINT}`
  );
}

/** Parses an MLflow request message, failing with INVALID_PARAMETER_VALUE in MLflow's words. */
export function parseMlflowRequest<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const [first] = r.error.issues;
  throw new KeelError("INVALID_PARAMETER_VALUE", first ? mlflowIssueMessage(first, raw) : "invalid request");
}
