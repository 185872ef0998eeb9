import { mount, evalDatasetRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { EvalDatasetService } from "./eval-dataset-service";

/** MLflow 3's evaluation dataset endpoints, mounted from the contract; handlers only call the service. */
export function mountEvalDatasetRoutes(app: Hono, s: EvalDatasetService): void {
  const id = (p: { dataset_id?: string }) => p.dataset_id as string;
  mount(app, r.createDataset, ({ body }) => s.create(body));
  mount(app, r.searchDatasets, ({ body }) => s.search(body));
  mount(app, r.getDataset, ({ params }) => s.get(id(params)));
  mount(app, r.deleteDataset, ({ params }) => s.delete(id(params)));
  mount(app, r.setDatasetTags, ({ body, params }) => s.setTags(id(params), body.tags));
  mount(app, r.deleteDatasetTag, ({ params }) => s.deleteTag(id(params), params.key));
  mount(app, r.upsertDatasetRecords, ({ body, params }) => s.upsertRecords(id(params), body));
  mount(app, r.getDatasetRecords, ({ params }) => s.records(id(params)));
  mount(app, r.getDatasetExperimentIds, ({ params }) => s.experimentIds(id(params)));
}
