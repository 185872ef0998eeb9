import { z } from "zod";
import { mlflowRouteFactory } from "./mlflow-route";
import { int32, opt } from "./mlflow-tracking-schemas";

/**
 * MLflow 3's registered scorers (GenAI evaluation judges, serialized by the client) per
 * experiment, versioned by name: `/api/3.0/mlflow/scorers/*` (mlflow/protos/service.proto).
 */
const P = "/api/3.0/mlflow/scorers";
const tags = ["MLflow scorers"] as const;
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

const route = mlflowRouteFactory({ prefix: `${P}/`, tags });

const list = z.object({ scorers: z.array(scorerSchema).optional() });
export const scorerRoutes = {
  registerScorer: route(
    "scorers.registerScorer",
    "POST",
    "register",
    "Register a new version of a scorer",
    scorerRequest,
    z.object({ version: z.number() }),
  ),
  listScorers: route(
    "scorers.listScorers",
    "GET",
    "list",
    "The latest version of each scorer",
    scorerRequest,
    list,
  ),
  listScorerVersions: route(
    "scorers.listScorerVersions",
    "GET",
    "versions",
    "Every version of a scorer",
    scorerRequest,
    list,
  ),
  getScorer: route(
    "scorers.getScorer",
    "GET",
    "get",
    "A scorer (latest or given version)",
    scorerRequest,
    z.object({ scorer: scorerSchema }),
  ),
  deleteScorer: route(
    "scorers.deleteScorer",
    "DELETE",
    "delete",
    "Delete one or every version of a scorer",
    scorerRequest,
    z.object({}),
  ),
};
