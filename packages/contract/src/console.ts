import { z } from "zod";
import { defineRoute } from "./route";

/** What the console needs before anyone signs in: the stage's identity provider, if it has one. */
export const consoleRoutes = {
  config: defineRoute({
    id: "console.config",
    method: "GET",
    path: "/api/v1/console/config",
    summary: "The console's sign-in settings: the OIDC issuer, public client id and scopes (public)",
    tags: ["Platform"],
    response: z.object({
      oidc: z.object({ issuer: z.string(), clientId: z.string(), scopes: z.string() }).nullable(),
    }),
    errors: [],
  }),
};
