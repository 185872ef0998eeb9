import { z } from "zod";
import { defineRoute } from "./route";

/**
 * MLflow's GraphQL endpoint (`mlflow/server/graphql/` of MLflow 2.17): the schema the MLflow
 * UI queries runs, experiments, metric history, artifacts and datasets through. Errors of a
 * resolver come back with status 200 in `errors` (messages only), as MLflow sends them.
 */
const tags = ["MLflow UI"] as const;
const ERRORS = ["INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST"] as const;

export const graphqlRequest = z.object({
  query: z.string().optional(),
  variables: z.record(z.string(), z.unknown()).nullish(),
  operationName: z.string().nullish(),
});

export const graphqlResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullable(),
  errors: z.array(z.string()).nullable(),
});

const route = <const M extends "GET" | "POST">(method: M) =>
  defineRoute({
    id: method === "GET" ? "mlflowGraphql.get" : "mlflowGraphql.post",
    method,
    path: "/graphql",
    summary: "Run a GraphQL query or mutation on MLflow's schema",
    tags,
    body: graphqlRequest,
    rawBody: true,
    response: graphqlResponse,
    errors: ERRORS,
  });

export const mlflowGraphqlRoutes = { get: route("GET"), post: route("POST") };
