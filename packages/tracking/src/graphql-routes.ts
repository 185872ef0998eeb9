import { mount, mlflowGraphqlRoutes as r } from "@keel/contract";
import { KeelError } from "@keel/core";
import type { GraphQLSchema } from "graphql";
import type { Context, Hono } from "hono";
import { type GraphqlRequest, runGraphql } from "./graphql";

/** The request as MLflow reads it: the JSON body; on GET also `query`/`variables`/`operationName` in the URL. */
async function graphqlRequest(c: Context): Promise<GraphqlRequest> {
  const text = await c.req.text();
  if (text.trim()) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new KeelError("MALFORMED_REQUEST", "Malformed GraphQL request: the body is not JSON");
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      throw new KeelError("MALFORMED_REQUEST", "Malformed GraphQL request: the body must be a JSON object");
    }
    return body as GraphqlRequest;
  }
  const variables = c.req.query("variables");
  let parsed: Record<string, unknown> | undefined;
  if (variables) {
    try {
      parsed = JSON.parse(variables);
    } catch {
      throw new KeelError("MALFORMED_REQUEST", "Malformed GraphQL request: 'variables' is not JSON");
    }
  }
  return { query: c.req.query("query"), variables: parsed, operationName: c.req.query("operationName") };
}

/** MLflow's `/graphql` (GET and POST): always 200 with `{data, errors}`, as MLflow answers. */
export function mountGraphqlRoutes(app: Hono, schema: GraphQLSchema): void {
  const handler = async (_: unknown, c: Context) => runGraphql(schema, await graphqlRequest(c));
  mount(app, r.get, handler);
  mount(app, r.post, handler);
}
