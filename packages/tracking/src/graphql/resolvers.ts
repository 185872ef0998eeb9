import {
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  GraphQLScalarType,
  getNamedType,
  getNullableType,
  isEnumType,
  isListType,
  isObjectType,
  Kind,
} from "graphql";
import type { TrackingService } from "../service";

/** What the resolvers read the model registry through (the registry is not a tracking dependency). */
export interface ModelVersionsPort {
  /** Model versions (MLflow JSON) matching a search filter such as `run_id='...'`. */
  search(filter: string): Promise<unknown[]>;
}

export interface GraphqlDeps {
  tracking: TrackingService;
  modelVersions: ModelVersionsPort;
}

type Input = Record<string, unknown> | null | undefined;
type Resolver = (source: unknown, args: { input?: Input; inputString?: string }) => unknown;

/** `LongString`: int64 as a string on the way out, so JavaScript never truncates it. */
export const longString = new GraphQLScalarType({
  name: "LongString",
  description: "Long converted to string to prevent truncation to max integer in JavaScript",
  serialize: (v) => String(v),
  parseValue: (v) => Number.parseInt(String(v), 10),
  parseLiteral: (node) => (node.kind === Kind.INT ? Number.parseInt(node.value, 10) : null),
});

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** An input object with MLflow's (snake_case) request field names, absent fields dropped. */
function request(input: Input): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input ?? {})) if (v !== null && v !== undefined) out[snake(k)] = v;
  return out;
}

/**
 * What graphene returns for a field a protobuf message leaves unset: the proto2 default
 * (`""`, `0`, `false`, an empty list, an empty message), and null for what is no message field.
 */
function protoDefault(type: GraphQLOutputType): unknown {
  const t = getNullableType(type);
  if (isListType(t)) return [];
  const named = getNamedType(t);
  if (isEnumType(named)) return null;
  if (isObjectType(named)) return named.name === "ApiError" || named.name === "ErrorDetail" ? null : {};
  switch (named.name) {
    case "String":
      return "";
    case "Boolean":
      return false;
    default:
      return 0;
  }
}

/** Reads a field from MLflow's JSON (snake_case) the way graphene reads a protobuf message. */
export const protoFieldResolver: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) => {
  if (source && typeof source === "object") {
    const obj = source as Record<string, unknown>;
    const v = obj[snake(info.fieldName)] ?? obj[info.fieldName];
    if (v !== undefined && v !== null) return v;
  }
  return protoDefault(info.returnType);
};

/**
 * The resolvers of MLflow's schema, by type and field: each calls the tracking service as the
 * REST handler of the same name does (so validation and errors are the REST ones).
 */
export function mlflowResolvers(d: GraphqlDeps): Record<string, Record<string, Resolver>> {
  const { tracking } = d;
  return {
    Query: {
      mlflowGetExperiment: (_, { input }) =>
        tracking.getExperiment(String(request(input).experiment_id ?? "")),
      mlflowGetRun: (_, { input }) => {
        const r = request(input);
        return tracking.getRun(String(r.run_id || r.run_uuid || ""));
      },
      mlflowGetMetricHistoryBulkInterval: (_, { input }) => {
        const r = request(input);
        return tracking.getMetricHistoryBulkInterval({
          run_ids: (r.run_ids as string[] | undefined) ?? [],
          metric_key: String(r.metric_key ?? ""),
          start_step: r.start_step as number | undefined,
          end_step: r.end_step as number | undefined,
          max_results: r.max_results as number | undefined,
        });
      },
      mlflowListArtifacts: (_, { input }) => tracking.listArtifacts(request(input)),
      mlflowSearchModelVersions: async (_, { input }) => ({
        model_versions: await d.modelVersions.search(String(request(input).filter ?? "")),
      }),
      test: (_, { inputString }) => ({ output: inputString }),
    },
    Mutation: {
      mlflowSearchRuns: (_, { input }) => tracking.searchRuns(request(input)),
      mlflowSearchDatasets: (_, { input }) =>
        tracking.searchDatasets(request(input).experiment_ids as string[] | undefined),
      testMutation: (_, { inputString }) => ({ output: inputString }),
    },
    MlflowRunExtension: {
      experiment: async (run) =>
        (await tracking.getExperiment((run as { info: { experiment_id: string } }).info.experiment_id))
          .experiment,
      modelVersions: (run) =>
        d.modelVersions.search(`run_id='${(run as { info: { run_id: string } }).info.run_id}'`),
    },
  };
}
