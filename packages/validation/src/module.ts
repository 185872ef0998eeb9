import { mount, validationRoutes as r } from "@keel/contract";
import type { FeaturesService } from "@keel/features";
import type { PipelineService } from "@keel/pipelines";
import type { Hono } from "hono";

/**
 * The validation area's HTTP routes: training-serving skew checks of feature views and
 * reproductions of pipeline runs. Thin handlers over the features and pipelines services.
 */
export function createValidationModule(deps: { features: FeaturesService; pipelines: PipelineService }) {
  return {
    name: "validation",
    routes(app: Hono) {
      mount(app, r.checkConsistency, ({ params, body }) =>
        deps.features.checkConsistency({ view: params.view, ...body }),
      );
      mount(app, r.reproduceRun, async ({ params }) => ({ run: await deps.pipelines.reproduce(params.id) }));
      mount(app, r.getReproduction, ({ params, query }) =>
        deps.pipelines.reproduction(params.id, { tolerance: query.tolerance }),
      );
    },
  };
}
