import { KeelError } from "@keel/core";
import { z } from "zod";

/**
 * Expectation suites: what a dataset must look like, declared in TypeScript with
 * `defineExpectations`. Every expectation has a severity: `error` fails the validation (and
 * stops a pipeline), `warn` is recorded only. A suite is plain JSON, so it can sit in a
 * pipeline step's `with` and be hashed into its cache key.
 */
export const COLUMN_TYPES = ["string", "integer", "float", "number", "boolean", "timestamp"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

const ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "column names are letters, digits and _");
const severity = z.enum(["error", "warn"]).default("error");
const base = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.\- /]{1,120}$/)
    .optional(),
  severity,
};

const columnSpec = z.strictObject({ type: z.enum(COLUMN_TYPES), nullable: z.boolean().default(true) });

export const expectationSchema = z.discriminatedUnion("kind", [
  /** The columns that must exist, their types and whether they may hold nulls. */
  z.strictObject({
    ...base,
    kind: z.literal("schema"),
    columns: z.record(ident, columnSpec),
    /** No columns beyond the listed ones. */
    exact: z.boolean().default(false),
  }),
  /** Every non-null value within [min, max]. */
  z.strictObject({
    ...base,
    kind: z.literal("range"),
    column: ident,
    min: z.number().optional(),
    max: z.number().optional(),
  }),
  /** Every non-null value in a set. */
  z.strictObject({
    ...base,
    kind: z.literal("in_set"),
    column: ident,
    values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
  }),
  /** No two rows with the same (non-null) values of these columns. */
  z.strictObject({ ...base, kind: z.literal("unique"), columns: z.array(ident).min(1) }),
  /** The share of nulls in a column at most `max`. */
  z.strictObject({ ...base, kind: z.literal("null_rate"), column: ident, max: z.number().min(0).max(1) }),
  /** The number of rows within bounds. */
  z.strictObject({
    ...base,
    kind: z.literal("row_count"),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
  }),
  /** The newest event time no older than `maxAgeSeconds` at evaluation time. */
  z.strictObject({
    ...base,
    kind: z.literal("freshness"),
    column: ident,
    maxAgeSeconds: z.number().positive(),
  }),
  /**
   * The column's distribution against the reference profile (the training profile of a
   * registered model version, or one given): PSI over the reference's bins, and/or the
   * two-sample KS p-value against its sample (monitoring's drift statistics).
   */
  z.strictObject({
    ...base,
    kind: z.literal("distribution"),
    column: ident,
    /** The profile's feature name, when it differs from the column. */
    feature: z.string().optional(),
    maxPsi: z.number().positive().optional(),
    minKsPValue: z.number().min(0).max(1).optional(),
  }),
]);
export type Expectation = z.output<typeof expectationSchema>;
export type ExpectationInput = z.input<typeof expectationSchema>;

const referenceSchema = z.strictObject({
  model: z.string().min(1),
  version: z.union([z.string(), z.number()]),
});

export const suiteSchema = z.strictObject({
  kind: z.literal("keel.expectations"),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/),
  /** Default dataset (Parquet file or folder, local path or s3:// URI). */
  dataset: z.string().min(1).optional(),
  /** Where distribution checks take their reference profile: a registered model version's training run. */
  reference: referenceSchema.optional(),
  expectations: z.array(expectationSchema).min(1),
});
export type ExpectationSuite = z.output<typeof suiteSchema>;
export type ModelReference = z.output<typeof referenceSchema>;

export interface SuiteInput {
  name: string;
  dataset?: string;
  reference?: ModelReference;
  expectations: ExpectationInput[];
}

/** The expectation's name in reports and metric keys: given, or `<column>.<kind>`. */
export function expectationName(e: Expectation): string {
  if (e.name) return e.name;
  if ("column" in e) return `${e.column}.${e.kind}`;
  if (e.kind === "unique") return `${e.columns.join("+")}.unique`;
  return e.kind;
}

/** Declares and validates a suite; names must be unique within it. */
export function defineExpectations(input: SuiteInput): ExpectationSuite {
  const parsed = suiteSchema.safeParse({ kind: "keel.expectations", ...input });
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new KeelError("INVALID_PARAMETER_VALUE", `invalid expectation suite "${input?.name}": ${why}`);
  }
  const seen = new Set<string>();
  for (const e of parsed.data.expectations) {
    const n = expectationName(e);
    if (seen.has(n))
      throw new KeelError(
        "INVALID_PARAMETER_VALUE",
        `suite "${input.name}": two expectations are named "${n}" (give one a name)`,
      );
    seen.add(n);
  }
  return parsed.data;
}

export function isExpectationSuite(v: unknown): v is ExpectationSuite {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "keel.expectations";
}
