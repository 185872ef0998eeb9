import { mount, monitoringRoutes as r } from "@keel/contract";
import type { Hono } from "hono";
import type { DriftReport } from "./drift-report";
import { type MonitoringService, parseWindow } from "./drift-service";
import { MonitoringError } from "./errors";

/** Where a report's HTML page is served. */
export function reportHtmlPath(id: string): string {
  return `/api/v1/monitoring/reports/${id}.html`;
}

const withLinks = (r: DriftReport) => ({
  ...r,
  links: { html: reportHtmlPath(r.id), json: `/api/v1/monitoring/reports/${r.id}.json` },
});

/** Thin HTTP layer over MonitoringService. */
export function monitoringRoutes(app: Hono, service: MonitoringService): void {
  mount(app, r.latestDrift, async ({ params }) => withLinks(await service.latestReport(params.deployment)));
  mount(app, r.runDrift, async ({ params, body }) => {
    const windowMs = body.window === undefined ? undefined : parseWindow(body.window);
    return withLinks(await service.runDrift(params.deployment, { windowMs }));
  });
  mount(app, r.listReports, ({ params, query }) =>
    service.listReports(params.deployment, { limit: query.limit, pageToken: query.page_token }),
  );
  mount(app, r.getReport, async ({ params: { file } }, c) => {
    const m = /^(.+)\.(html|json)$/.exec(file);
    if (!m)
      throw new MonitoringError(
        "RESOURCE_DOES_NOT_EXIST",
        `no drift report '${file}' (ask for <id>.html or <id>.json)`,
      );
    if (m[2] === "json") return service.report(m[1]);
    return c.html(await service.reportHtml(m[1]));
  });
}
