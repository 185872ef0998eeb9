import type { ErrorCode } from "@keel/core";
import type { z } from "zod";
import { defineRoute, type HttpMethod } from "./route";

/** What most MLflow endpoints answer when the request names something wrong or absent. */
export const MLFLOW_ERRORS = [
  "INVALID_PARAMETER_VALUE",
  "MALFORMED_REQUEST",
  "RESOURCE_DOES_NOT_EXIST",
] as const;

/** What every route of one MLflow API area shares. */
export interface MlflowArea {
  /** Prepended to each route's path, e.g. `/api/2.0/mlflow/`. */
  prefix: string;
  tags: readonly string[];
  /** Defaults to {@link MLFLOW_ERRORS}. */
  errors?: readonly ErrorCode[];
  /** Also served under `/ajax-api` as MLflow's UI calls it (default true). */
  ajax?: boolean;
}

const ajaxAliases = ["/ajax-api"] as const;

/**
 * A route factory for one MLflow area: each route is one request message (`mlflow: true`) with
 * the area's prefix, tags and errors; `acceptsPost` marks a GET read that also takes POST.
 */
export function mlflowRouteFactory(area: MlflowArea) {
  const aliases = area.ajax === false ? undefined : ajaxAliases;
  const errors = area.errors ?? MLFLOW_ERRORS;
  return <const Id extends string, const M extends HttpMethod, B extends z.ZodType, R extends z.ZodType>(
    id: Id,
    method: M,
    path: string,
    summary: string,
    body: B,
    response: R,
    options: { acceptsPost?: boolean } = {},
  ) =>
    defineRoute({
      id,
      method,
      mlflow: true,
      ...(aliases ? { aliases } : {}),
      ...(options.acceptsPost ? { acceptsPost: true } : {}),
      path: `${area.prefix}${path}`,
      summary,
      tags: area.tags,
      body,
      response,
      errors,
    });
}
