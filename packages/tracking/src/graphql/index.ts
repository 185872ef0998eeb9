import {
  buildSchema,
  type DocumentNode,
  execute,
  GraphQLError,
  type GraphQLSchema,
  isObjectType,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import { checkQueryLimits } from "./limits";
import { type GraphqlDeps, longString, mlflowResolvers, protoFieldResolver } from "./resolvers";
import { MLFLOW_GRAPHQL_SDL } from "./schema";

export type { GraphqlDeps, ModelVersionsPort } from "./resolvers";

/** MLflow's schema with Keel's resolvers attached. */
export function buildMlflowSchema(deps: GraphqlDeps): GraphQLSchema {
  const schema = buildSchema(MLFLOW_GRAPHQL_SDL);
  const { serialize, parseValue, parseLiteral } = longString;
  Object.assign(schema.getType("LongString") as object, { serialize, parseValue, parseLiteral });
  for (const [typeName, fields] of Object.entries(mlflowResolvers(deps))) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`GraphQL schema has no object type ${typeName}`);
    const defs = type.getFields();
    for (const [name, resolve] of Object.entries(fields)) {
      if (!defs[name]) throw new Error(`GraphQL type ${typeName} has no field ${name}`);
      defs[name].resolve = resolve as never;
    }
  }
  return schema;
}

export interface GraphqlRequest {
  query?: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** MLflow's `/graphql` answer: the data, and the error messages (null when none). */
export interface GraphqlAnswer {
  data: Record<string, unknown> | null;
  errors: string[] | null;
}

const answer = (data: unknown, errors: readonly GraphQLError[] | undefined): GraphqlAnswer => ({
  data: (data as Record<string, unknown> | null | undefined) ?? null,
  errors: errors?.length ? errors.map((e) => e.message) : null,
});

/**
 * Runs one request as MLflow's `_graphql` handler does (graphene's `schema.execute`): syntax,
 * validation and resolver errors all come back in `errors` beside whatever data resolved.
 * Queries past the depth or selection bounds are refused before they run.
 */
export async function runGraphql(schema: GraphQLSchema, r: GraphqlRequest): Promise<GraphqlAnswer> {
  let doc: DocumentNode;
  try {
    doc = parse(r.query ?? "");
  } catch (e) {
    return answer(null, [e instanceof GraphQLError ? e : new GraphQLError(String(e))]);
  }
  const invalid = validate(schema, doc, specifiedRules);
  if (invalid.length) return answer(null, invalid);
  const tooBig = checkQueryLimits(doc);
  if (tooBig.length) return answer(null, tooBig);
  const result = await execute({
    schema,
    document: doc,
    variableValues: r.variables ?? undefined,
    operationName: r.operationName ?? undefined,
    fieldResolver: protoFieldResolver,
  });
  return answer(result.data, result.errors);
}
