import { mount, featureRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import { allDefinitions } from "./definitions";
import { unknownFeatures } from "./errors";
import type { FeaturesService } from "./features-service";

/** Thin handlers: parse with zod, call the service, return its result. */
export function featuresRoutes(app: Hono, service: FeaturesService): void {
  mount(app, r.getOnlineFeatures, ({ body }) => service.getOnlineFeatures(body));
  mount(app, r.push, ({ body }) => service.push(body));
  mount(app, r.apply, ({ body }) => service.apply(body.definitions, { dryRun: body.dry_run }));
  mount(app, r.listDefinitions, async () => {
    const snap = await service.definitions();
    return { version: snap.version, ...snap.catalog.repo };
  });
  mount(app, r.getDefinition, async ({ params: { name } }) => {
    const { catalog, version } = await service.definitions();
    const found = allDefinitions(catalog.repo).filter((d) => d.name === name);
    if (found.length === 0) throw unknownFeatures(`no feature definition named '${name}'`);
    return { version, definitions: found };
  });
  mount(app, r.materialize, async ({ body }) => ({ views: await service.materialize(body) }));
  mount(app, r.historical, async ({ body: b }) => {
    const res = await service.getHistoricalFeatures({
      entities: b.entity_rows ? { rows: b.entity_rows } : { path: b.entities_path as string },
      features: b.features,
      featureService: b.feature_service,
      fullFeatureNames: b.full_feature_names,
      outPath: b.out_path,
    });
    return { row_count: res.rowCount, columns: res.columns, rows: res.rows, uri: res.uri };
  });
}
