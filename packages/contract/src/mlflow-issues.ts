import { KeelError } from "@keel/core";
import type { z } from "zod";

/** The sentence MLflow's `_validate_param_against_schema` ends every parameter error with. */
const API_DOCS_HINT = " See the API docs for more information about request parameters.";

/** Python's `type(value).__name__` for a decoded JSON value, as MLflow's hint names it. */
function pythonTypeName(value: unknown, isFloat: boolean): string {
  if (value === null) return "NoneType";
  if (Array.isArray(value)) return "list";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return isFloat || !Number.isInteger(value) ? "float" : "int";
  return "dict";
}

/**
 * Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))`, as MLflow's
 * `invalid_value` prints a bad value: strings quoted (non-ASCII escaped), keys sorted, and a
 * number the request spelled as a float (`9.0`) printed as one.
 */
export function pythonJson(value: unknown, isFloat = false): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return isFloat && Number.isInteger(value) && Math.abs(value) < 1e16 ? `${value}.0` : String(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  if (Array.isArray(value)) return `[${value.map((v) => pythonJson(v)).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${pythonJson(k)}:${pythonJson(v)}`).join(",")}}`;
  }
  return String(value);
}

/**
 * The top-level fields whose value a JSON text spells as a float (`9.0`, `1e3`): JavaScript
 * reads them as integers, Python as floats, and MLflow's messages print them as Python does.
 */
export function floatFieldsOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:\s*(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)/g)) {
    if (/[.eE]/.test(m[2])) out.add(JSON.parse(`"${m[1]}"`));
  }
  return out;
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
export function mlflowIssueMessage(
  issue: z.core.$ZodIssue,
  raw: Record<string, unknown>,
  floatFields: ReadonlySet<string> = new Set(),
): string {
  const value = valueAt(raw, issue.path);
  if (issue.path.length && (value === undefined || value === null || value === "")) {
    return `Missing value for required parameter '${fieldName(issue.path)}'.${API_DOCS_HINT}`;
  }
  const param = String(issue.path[0] ?? "request");
  const top = issue.path.length ? raw[param] : raw;
  const isFloat = floatFields.has(param);
  return (
    `Invalid value ${pythonJson(top, isFloat)} for parameter '${param}' supplied: ` +
    ` Hint: Value was of type '${pythonTypeName(top, isFloat)}'.${API_DOCS_HINT}`
  );
}

/** Parses an MLflow request message, failing with INVALID_PARAMETER_VALUE in MLflow's words. */
export function parseMlflowRequest<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown>,
  floatFields?: ReadonlySet<string>,
): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  // MLflow checks a run request's run_id (first in each handler's schema) before its other fields.
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  if (shape && "run_id" in shape && "run_uuid" in shape && !raw.run_id && !raw.run_uuid) {
    throw new KeelError(
      "INVALID_PARAMETER_VALUE",
      `Missing value for required parameter 'run_id'.${API_DOCS_HINT}`,
    );
  }
  const [first] = r.error.issues;
  throw new KeelError(
    "INVALID_PARAMETER_VALUE",
    first ? mlflowIssueMessage(first, raw, floatFields) : "invalid request",
  );
}
