import { z } from "zod";
import { defineRoute } from "./route";

/** Routes of the app itself: health and the API's own description. */
const tags = ["Platform"] as const;

export const platformRoutes = {
  health: defineRoute({
    id: "platform.health",
    method: "GET",
    path: "/health",
    summary: "Liveness of the process",
    tags,
    response: z.object({ status: z.literal("ok") }),
    errors: [],
  }),
  apiHealth: defineRoute({
    id: "platform.apiHealth",
    method: "GET",
    path: "/api/v1/health",
    summary: "Liveness with the modules this deployment serves",
    tags,
    response: z.object({ status: z.literal("ok"), modules: z.array(z.string()) }),
    errors: [],
  }),
  openapi: defineRoute({
    id: "platform.openapi",
    method: "GET",
    path: "/api/v1/openapi.json",
    summary: "This document: the OpenAPI 3.1 description of every route",
    tags,
    response: z.looseObject({ openapi: z.string() }),
    errors: [],
  }),
  docs: defineRoute({
    id: "platform.docs",
    method: "GET",
    path: "/api/v1/docs",
    summary: "A browsable reference of the API (self-contained HTML)",
    tags,
    response: z.string(),
    responseType: "text/html",
    errors: [],
  }),
};
