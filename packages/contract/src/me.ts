import { z } from "zod";
import { defineRoute } from "./route";

/** Who the caller is, as the server sees it: what the console shows and which buttons it offers. */
export const meRoutes = {
  me: defineRoute({
    id: "platform.me",
    method: "GET",
    path: "/api/v1/me",
    summary: "The caller's principal, roles and kind (the server stays the judge of every action)",
    tags: ["Platform"],
    response: z.object({
      principal: z.string(),
      roles: z.array(z.string()),
      kind: z.enum(["user", "service", "local"]).optional(),
      display: z.string().optional(),
    }),
    errors: [],
  }),
};
