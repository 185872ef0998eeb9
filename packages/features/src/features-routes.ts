import { jsonBody } from "@keel/core";
import type { Hono } from "hono";
import { z } from "zod";
import { allDefinitions } from "./definitions";
import { unknownFeatures } from "./errors";
import type { FeaturesService } from "./features-service";
import { onlineRequestSchema } from "./online-serving";
import { pushRequestSchema } from "./push";

const applyBody = z.strictObject({ definitions: z.unknown(), dry_run: z.boolean().default(false) });
const materializeBody = z.strictObject({
  incremental: z.boolean().default(false),
  views: z.array(z.string()).optional(),
});
const historicalBody = z
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
  });

/** Thin handlers: parse with zod, call the service, return its result. */
export function featuresRoutes(app: Hono, service: FeaturesService): void {
  app.post("/api/v1/features/get-online-features", async (c) =>
    c.json(await service.getOnlineFeatures(await jsonBody(c, onlineRequestSchema))),
  );
  app.post("/api/v1/features/push", async (c) =>
    c.json(await service.push(await jsonBody(c, pushRequestSchema))),
  );
  app.post("/api/v1/features/apply", async (c) => {
    const body = await jsonBody(c, applyBody);
    return c.json(await service.apply(body.definitions, { dryRun: body.dry_run }));
  });
  app.get("/api/v1/features/definitions", async (c) => {
    const snap = await service.definitions();
    return c.json({ version: snap.version, ...snap.catalog.repo });
  });
  app.get("/api/v1/features/definitions/:name", async (c) => {
    const name = c.req.param("name");
    const { catalog, version } = await service.definitions();
    const found = allDefinitions(catalog.repo).filter((d) => d.name === name);
    if (found.length === 0) throw unknownFeatures(`no feature definition named '${name}'`);
    return c.json({ version, definitions: found });
  });
  app.post("/api/v1/features/materialize", async (c) => {
    const body = await jsonBody(c, materializeBody);
    return c.json({ views: await service.materialize(body) });
  });
  app.post("/api/v1/features/historical", async (c) => {
    const b = await jsonBody(c, historicalBody);
    const res = await service.getHistoricalFeatures({
      entities: b.entity_rows ? { rows: b.entity_rows } : { path: b.entities_path as string },
      features: b.features,
      featureService: b.feature_service,
      fullFeatureNames: b.full_feature_names,
      outPath: b.out_path,
    });
    return c.json({ row_count: res.rowCount, columns: res.columns, rows: res.rows, uri: res.uri });
  });
}
