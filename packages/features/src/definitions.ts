import { z } from "zod";

/**
 * Feature store definitions: entities, sources, feature views and feature services, written
 * in TypeScript with the builders below and validated with these schemas wherever they cross
 * a boundary (a repo directory, the apply endpoint, the metadata store).
 */

/** SQL-safe identifier: definitions are interpolated into portable SQL, so nothing else passes. */
export const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a letter or _ followed by letters, digits or _ (max 63)");

const tags = z.record(z.string(), z.string()).default({});

/** Value types a feature or join key may have, named after Feast's. */
export const valueTypeSchema = z.enum([
  "int64",
  "int32",
  "float64",
  "float32",
  "string",
  "bool",
  "timestamp",
]);
export type ValueType = z.infer<typeof valueTypeSchema>;

export const entitySchema = z.strictObject({
  kind: z.literal("entity"),
  name: identifier,
  joinKey: identifier,
  valueType: z.enum(["int64", "string"]),
  description: z.string().default(""),
  tags,
});
export type Entity = z.infer<typeof entitySchema>;

/** A Parquet file, or a prefix (ending in "/") holding Parquet files; local path or s3:// URI. */
export const fileSourceSchema = z.strictObject({
  kind: z.literal("file_source"),
  name: identifier,
  path: z.string().min(1),
  timestampField: identifier.default("event_timestamp"),
  createdTimestampColumn: identifier.optional(),
  description: z.string().default(""),
  tags,
});
export type FileSource = z.infer<typeof fileSourceSchema>;

/** Rows pushed over HTTP; appended offline to `batchSource`, which must be a prefix. */
export const pushSourceSchema = z.strictObject({
  kind: z.literal("push_source"),
  name: identifier,
  batchSource: identifier,
  description: z.string().default(""),
  tags,
});
export type PushSource = z.infer<typeof pushSourceSchema>;

export const fieldSchema = z.strictObject({ name: identifier, dtype: valueTypeSchema });
export type Field = z.infer<typeof fieldSchema>;

export const featureViewSchema = z.strictObject({
  kind: z.literal("feature_view"),
  name: identifier,
  entities: z.array(identifier).min(1),
  schema: z.array(fieldSchema).min(1),
  /** Max age of a value, in seconds; 0 means values never expire. */
  ttlSeconds: z.number().int().min(0),
  /** A file source or a push source, by name. */
  source: identifier,
  online: z.boolean().default(true),
  owner: z.string().default(""),
  description: z.string().default(""),
  tags,
});
export type FeatureView = z.infer<typeof featureViewSchema>;

/** "view:feature" or "view" (all of its features). */
const featureRef = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(:[A-Za-z_][A-Za-z0-9_]*)?$/, "must be view or view:feature");

export const featureServiceSchema = z.strictObject({
  kind: z.literal("feature_service"),
  name: identifier,
  features: z.array(featureRef).min(1),
  owner: z.string().default(""),
  description: z.string().default(""),
  tags,
});
export type FeatureServiceDef = z.infer<typeof featureServiceSchema>;

export const definitionSchema = z.discriminatedUnion("kind", [
  entitySchema,
  fileSourceSchema,
  pushSourceSchema,
  featureViewSchema,
  featureServiceSchema,
]);
export type Definition = z.infer<typeof definitionSchema>;
export type DefinitionKind = Definition["kind"];

/** A whole feature repository: every definition, each name unique within its kind. */
export const featureRepoSchema = z.strictObject({
  entities: z.array(entitySchema).default([]),
  sources: z.array(z.discriminatedUnion("kind", [fileSourceSchema, pushSourceSchema])).default([]),
  featureViews: z.array(featureViewSchema).default([]),
  featureServices: z.array(featureServiceSchema).default([]),
});
export type FeatureRepo = z.infer<typeof featureRepoSchema>;
export type FeatureRepoInput = z.input<typeof featureRepoSchema>;

/** Every definition of a repository, in one list (names are unique per kind, not across kinds). */
export function allDefinitions(repo: FeatureRepo): Definition[] {
  return [...repo.entities, ...repo.sources, ...repo.featureViews, ...repo.featureServices];
}

type Input<S extends z.ZodType> = Omit<z.input<S>, "kind">;

/** Builders for definition files: `export const driver = entity({ name: "driver", ... })`. */
export const entity = (d: Input<typeof entitySchema>): Entity => entitySchema.parse({ ...d, kind: "entity" });
export const fileSource = (d: Input<typeof fileSourceSchema>): FileSource =>
  fileSourceSchema.parse({ ...d, kind: "file_source" });
export const pushSource = (d: Input<typeof pushSourceSchema>): PushSource =>
  pushSourceSchema.parse({ ...d, kind: "push_source" });
export const featureView = (d: Input<typeof featureViewSchema>): FeatureView =>
  featureViewSchema.parse({ ...d, kind: "feature_view" });
export const featureService = (d: Input<typeof featureServiceSchema>): FeatureServiceDef =>
  featureServiceSchema.parse({ ...d, kind: "feature_service" });
