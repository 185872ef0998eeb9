import { mount, scorerRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { ScorerService } from "./scorer-service";

/** MLflow 3's scorer endpoints, mounted from the contract; handlers only call the service. */
export function mountScorerRoutes(app: Hono, s: ScorerService): void {
  mount(app, r.registerScorer, ({ body }) => s.register(body));
  mount(app, r.listScorers, ({ body }) => s.list(body));
  mount(app, r.listScorerVersions, ({ body }) => s.listVersions(body));
  mount(app, r.getScorer, ({ body }) => s.get(body));
  mount(app, r.deleteScorer, ({ body }) => s.delete(body));
}
