import { z } from "zod";
import { defineRoute } from "./route";

/** Keel's feature store API (Feast-shaped online serving and push). */
const tags = ["Features"] as const;
const ERRORS = ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_DOES_NOT_EXIST"] as const;

export const onlineRequestSchema = z.strictObject({
  features: z.array(z.string()).optional(),
  feature_service: z.string().optional(),
  entities: z.record(z.string(), z.array(z.unknown()).min(1)),
  full_feature_names: z.boolean().default(false),
});
export const pushRequestSchema = z.strictObject({
  push_source_name: z.string().min(1),
  df: z.record(z.string(), z.array(z.unknown())),
  to: z.enum(["online", "offline", "online_and_offline"]).default("online"),
});
const fieldStatus = z.enum(["PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE"]);
export const onlineResponseSchema = z.object({
  metadata: z.object({ feature_names: z.array(z.string()) }),
  results: z.array(
    z.object({
      values: z.array(z.unknown()),
      statuses: z.array(fieldStatus),
      event_timestamps: z.array(z.string()),
    }),
  ),
});

export const featureRoutes = {
  getOnlineFeatures: defineRoute({
    id: "features.getOnlineFeatures",
    method: "POST",
    path: "/api/v1/features/get-online-features",
    summary: "Read online features for entities (Feast's get-online-features)",
    tags,
    body: onlineRequestSchema,
    response: onlineResponseSchema,
    errors: ERRORS,
  }),
  push: defineRoute({
    id: "features.push",
    method: "POST",
    path: "/api/v1/features/push",
    summary: "Push rows to a push source (online and/or offline store)",
    tags,
    body: pushRequestSchema,
    response: z.object({
      rows: z.number(),
      offlineFile: z.string().optional(),
      online: z.array(z.object({ view: z.string(), written: z.number(), skipped: z.number() })),
    }),
    errors: ERRORS,
  }),
  apply: defineRoute({
    id: "features.apply",
    method: "POST",
    path: "/api/v1/features/apply",
    summary: "Apply feature definitions (entities, sources, views, services)",
    tags,
    body: z.strictObject({ definitions: z.unknown(), dry_run: z.boolean().default(false) }),
    response: z.looseObject({}),
    errors: [...ERRORS, "INVALID_STATE"],
  }),
  listDefinitions: defineRoute({
    id: "features.listDefinitions",
    method: "GET",
    path: "/api/v1/features/definitions",
    summary: "Every applied feature definition, with the catalog version",
    tags,
    response: z.looseObject({ version: z.number() }),
    errors: [],
  }),
  getDefinition: defineRoute({
    id: "features.getDefinition",
    method: "GET",
    path: "/api/v1/features/definitions/:name",
    summary: "The definitions with a name",
    tags,
    params: z.object({ name: z.string() }),
    response: z.object({ version: z.number(), definitions: z.array(z.looseObject({ name: z.string() })) }),
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  materialize: defineRoute({
    id: "features.materialize",
    method: "POST",
    path: "/api/v1/features/materialize",
    summary: "Copy the latest offline values to the online store",
    tags,
    body: z.strictObject({ incremental: z.boolean().default(false), views: z.array(z.string()).optional() }),
    response: z.object({ views: z.array(z.looseObject({})) }),
    errors: ERRORS,
  }),
  historical: defineRoute({
    id: "features.historical",
    method: "POST",
    path: "/api/v1/features/historical",
    summary: "A point-in-time correct training set",
    tags,
    body: z
      .strictObject({
        entity_rows: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
        entities_path: z.string().min(1).optional(),
        features: z.array(z.string()).optional(),
        feature_service: z.string().optional(),
        full_feature_names: z.boolean().default(false),
        out_path: z.string().min(1).optional(),
      })
      .refine((b) => (b.entity_rows === undefined) !== (b.entities_path === undefined), {
        message: "give exactly one of entity_rows or entities_path",
      }),
    response: z.object({
      row_count: z.number(),
      columns: z.array(z.string()),
      rows: z.array(z.record(z.string(), z.unknown())).optional(),
    }),
    errors: ERRORS,
  }),
};
