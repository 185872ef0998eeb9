import { z } from "zod";
import { defineRoute } from "./route";

/** Keel's monitoring API: drift reports per deployment. */
const tags = ["Monitoring"] as const;

const statusSchema = z.enum(["ok", "watch", "drift", "no_data"]);
export const driftReportSchema = z.object({
  id: z.string(),
  deployment: z.string(),
  createdAt: z.string(),
  window: z.object({ from: z.string(), to: z.string() }),
  /** Logged rows in the window that carried the baseline's features. */
  rows: z.number().int(),
  /** Logged requests in the window whose inputs did not match the baseline's features. */
  skippedRequests: z.number().int(),
  models: z.array(z.object({ model: z.string(), version: z.string(), requests: z.number().int() })),
  thresholds: z.object({ watch: z.number(), drift: z.number() }),
  /** Worst feature status; "no_data" when the window held no usable rows. */
  status: z.enum(["ok", "watch", "drift", "no_data"]),
  features: z.array(
    z.object({
      name: z.string(),
      /** "no_data" when every value of the feature was missing in the window. */
      status: statusSchema,
      /** Values that were missing (null) in the window. */
      missing: z.number().int(),
      psi: z.number(),
      ks: z.object({ statistic: z.number(), pValue: z.number() }),
      edges: z.array(z.number()),
      baseline: z.object({ mean: z.number(), std: z.number(), shares: z.array(z.number()) }),
      current: z.object({ mean: z.number(), std: z.number(), shares: z.array(z.number()) }),
    }),
  ),
  retraining: z
    .object({ triggered: z.boolean(), runId: z.string().optional(), error: z.string().optional() })
    .optional(),
});

const withLinks = driftReportSchema.extend({ links: z.object({ html: z.string(), json: z.string() }) });
const deployment = z.object({ deployment: z.string() });

export const monitoringRoutes = {
  latestDrift: defineRoute({
    id: "monitoring.latestDrift",
    method: "GET",
    path: "/api/v1/monitoring/deployments/:deployment/drift",
    summary: "The latest drift report of a deployment",
    tags,
    params: deployment,
    response: withLinks,
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
  runDrift: defineRoute({
    id: "monitoring.runDrift",
    method: "POST",
    path: "/api/v1/monitoring/deployments/:deployment/drift",
    summary: "Compute a drift report now (window like 24h or 7d; default the configured one)",
    tags,
    params: deployment,
    body: z.object({ window: z.string().optional() }).strict(),
    response: withLinks,
    errors: ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_DOES_NOT_EXIST"],
  }),
  listReports: defineRoute({
    id: "monitoring.listReports",
    method: "GET",
    path: "/api/v1/monitoring/deployments/:deployment/drift/reports",
    summary: "A deployment's drift reports, newest first (the history)",
    tags,
    params: deployment,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      page_token: z.string().optional(),
    }),
    response: z.object({
      reports: z.array(
        z.object({ id: z.string(), status: statusSchema, createdAt: z.string(), rows: z.number().int() }),
      ),
      next_page_token: z.string().optional(),
    }),
    errors: ["INVALID_PARAMETER_VALUE"],
  }),
  getReport: defineRoute({
    id: "monitoring.getReport",
    method: "GET",
    path: "/api/v1/monitoring/reports/:file",
    summary: "A drift report by id: <id>.json (JSON) or <id>.html (a page)",
    tags,
    params: z.object({ file: z.string() }),
    response: driftReportSchema,
    responseType: "application/json, text/html",
    errors: ["RESOURCE_DOES_NOT_EXIST"],
  }),
};
