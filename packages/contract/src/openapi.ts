import { ERROR_CODES, type ErrorCode } from "@keel/core";
import { z } from "zod";
import { servedAt } from "./mount";
import type { RouteSpec } from "./route";
import { allRoutes, CONTRACT_VERSION } from "./routes";

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema and OpenAPI objects are free-form JSON
export type Json = any;

/** `/v2/models/:model/versions/:version` -> `/v2/models/{model}/versions/{version}`; `*` -> `{path}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]\w*)/g, "{$1}").replace(/\*$/, "{path}");
}

function schemaOf(s: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { unrepresentable: "any", io }) as Json;
  return rest;
}

const V2_TAG = "KServe v2";
/** The LLM gateway's OpenAI API answers OpenAI's error shape. */
const OPENAI_TAG = "OpenAI";

function errorResponses(route: RouteSpec): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of route.errors) {
    const status = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const ref = route.tags.includes(V2_TAG)
    ? "#/components/schemas/V2Error"
    : route.tags.includes(OPENAI_TAG)
      ? "#/components/schemas/OpenAIError"
      : "#/components/schemas/Error";
  const out: Json = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: codes.join(", "),
      content: { "application/json": { schema: { $ref: ref } } },
    };
  }
  return out;
}

function parameters(route: RouteSpec, method: string): Json[] {
  const out: Json[] = [];
  const pathSchema = route.params ? schemaOf(route.params, "input") : undefined;
  for (const m of openApiPath(route.path).matchAll(/\{(\w+)\}/g)) {
    out.push({
      name: m[1],
      in: "path",
      required: true,
      schema: pathSchema?.properties?.[m[1]] ?? { type: "string" },
    });
  }
  const query = route.query ?? (route.mlflow && method === "GET" ? route.body : undefined);
  if (query) {
    const js = schemaOf(query, "input");
    const required = new Set<string>(js.required ?? []);
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      out.push({ name, in: "query", required: required.has(name), schema });
    }
  }
  return out;
}

/** Schemas shared by several operations (an MLflow read's GET/POST and /ajax-api forms) become components. */
class Components {
  readonly schemas: Record<string, Json> = {};
  private readonly byText = new Map<string, string>();
  ref(name: string, schema: Json): Json {
    const text = JSON.stringify(schema);
    if (text.length < 200) return schema;
    let id = this.byText.get(text);
    if (!id) {
      id = name;
      this.byText.set(text, id);
      this.schemas[id] = schema;
    }
    return { $ref: `#/components/schemas/${id}` };
  }
}

function operation(route: RouteSpec, method: string, operationId: string, components: Components): Json {
  const op: Json = { operationId, summary: route.summary, tags: [...route.tags] };
  const params = parameters(route, method);
  if (params.length) op.parameters = params;
  if (route.body && method !== "GET") {
    const type = route.requestType ?? "application/json";
    op.requestBody = {
      required: !(route.mlflow || route.requestType),
      content: { [type]: { schema: components.ref(`${route.id}.request`, schemaOf(route.body, "input")) } },
    };
  }
  const type = route.responseType ?? "application/json";
  op.responses = {
    [String(route.status ?? 200)]: {
      description: route.summary,
      content: {
        [type]: {
          schema: route.response
            ? components.ref(`${route.id}.response`, schemaOf(route.response, "output"))
            : {},
        },
      },
    },
    ...errorResponses(route),
  };
  op["x-keel-errors"] = [...route.errors];
  return op;
}

/** The OpenAPI 3.1 document of a set of contract routes (every route of Keel by default). */
export function openApiDocument(routes: RouteSpec[] = allRoutes, version = CONTRACT_VERSION): Json {
  const paths: Json = {};
  const components = new Components();
  for (const route of routes) {
    for (const { method, path } of servedAt(route)) {
      const variant = [path === route.path ? "" : ".ajax", method === route.method ? "" : ".post"].join("");
      const p = openApiPath(path);
      paths[p] ??= {};
      paths[p][method.toLowerCase()] = operation(route, method, route.id + variant, components);
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Keel API",
      version,
      description:
        "Every HTTP route of Keel: the MLflow 2.x tracking, registry and artifact APIs, Keel's /api/v1 " +
        "(governance, pipelines, features, monitoring, deployments, audit) and the Open Inference Protocol (KServe v2).",
    },
    paths,
    components: {
      schemas: {
        ...components.schemas,
        Error: {
          type: "object",
          properties: {
            error_code: { type: "string", enum: Object.keys(ERROR_CODES) },
            message: { type: "string" },
          },
          required: ["error_code", "message"],
        },
        V2Error: { type: "object", properties: { error: { type: "string" } }, required: ["error"] },
        OpenAIError: {
          type: "object",
          properties: {
            error: {
              type: "object",
              properties: {
                message: { type: "string" },
                type: { type: "string" },
                param: { type: ["string", "null"] },
                code: { type: ["string", "null"] },
              },
              required: ["message", "type", "param", "code"],
            },
          },
          required: ["error"],
        },
      },
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
    security: [{ bearer: [] }, {}],
  };
}
