import { jsonBody } from "@keel/core";
import type { Hono } from "hono";
import { z } from "zod";
import type { DriftReport } from "./drift-report";
import { type MonitoringService, parseWindow } from "./drift-service";
import { MonitoringError } from "./errors";

const runBodySchema = z.object({ window: z.string().optional() }).strict();

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
  app.get("/api/v1/monitoring/deployments/:deployment/drift", async (c) =>
    c.json(withLinks(await service.latestReport(c.req.param("deployment")))),
  );
  app.post("/api/v1/monitoring/deployments/:deployment/drift", async (c) => {
    const body = await jsonBody(c, runBodySchema);
    const windowMs = body.window === undefined ? undefined : parseWindow(body.window);
    return c.json(withLinks(await service.runDrift(c.req.param("deployment"), { windowMs })));
  });
  app.get("/api/v1/monitoring/reports/:file", async (c) => {
    const file = c.req.param("file");
    const m = /^(.+)\.(html|json)$/.exec(file);
    if (!m)
      throw new MonitoringError(
        "RESOURCE_DOES_NOT_EXIST",
        `no drift report '${file}' (ask for <id>.html or <id>.json)`,
      );
    if (m[2] === "json") return c.json(await service.report(m[1]));
    return c.html(await service.reportHtml(m[1]));
  });
}
