import { z } from "zod";
import { int32, opt } from "./mlflow-tracking-schemas";
import { defineRoute, type HttpMethod } from "./route";

/**
 * MLflow 3's registered scorers (GenAI evaluation judges, serialized by the client) per
 * experiment, versioned by name: `/api/3.0/mlflow/scorers/*` (mlflow/protos/service.proto).
 */
const P = "/api/3.0/mlflow/scorers";
const tags = ["MLflow scorers"] as const;
const ERRORS = ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST", "RESOURCE_DOES_NOT_EXIST"] as const;
const str = z.string();

export const scorerRequest = z.object({
  experiment_id: opt(str),
  name: opt(str),
  serialized_scorer: opt(str),
  version: opt(int32),
});
export type ScorerRequest = z.output<typeof scorerRequest>;
export const scorerSchema = z.object({
  experiment_id: z.number(),
  scorer_name: z.string(),
  scorer_version: z.number(),
  serialized_scorer: z.string(),
  creation_time: z.number(),
});
export type Scorer = z.infer<typeof scorerSchema>;

const route = <const Id extends string, const M extends HttpMethod, R extends z.ZodType>(
  id: Id,
  method: M,
  path: string,
  summary: string,
  response: R,
) =>
  defineRoute({
    id,
    method,
    mlflow: true,
    aliases: ["/ajax-api"],
    path: `${P}/${path}`,
    summary,
    tags,
    body: scorerRequest,
    response,
    errors: ERRORS,
  });

const list = z.object({ scorers: z.array(scorerSchema).optional() });
export const scorerRoutes = {
  registerScorer: route(
    "scorers.registerScorer",
    "POST",
    "register",
    "Register a new version of a scorer",
    z.object({ version: z.number() }),
  ),
  listScorers: route("scorers.listScorers", "GET", "list", "The latest version of each scorer", list),
  listScorerVersions: route(
    "scorers.listScorerVersions",
    "GET",
    "versions",
    "Every version of a scorer",
    list,
  ),
  getScorer: route(
    "scorers.getScorer",
    "GET",
    "get",
    "A scorer (latest or given version)",
    z.object({ scorer: scorerSchema }),
  ),
  deleteScorer: route(
    "scorers.deleteScorer",
    "DELETE",
    "delete",
    "Delete one or every version of a scorer",
    z.object({}),
  ),
};
