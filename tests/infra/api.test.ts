import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { consolePublicRouteKeys } from "@keel/console";
import { ENV } from "@keel/core";
import { describe, expect, it } from "vitest";
import { Api } from "../../stacks/Api";
import { Features } from "../../stacks/Features";
import { Llm } from "../../stacks/Llm";
import { Network } from "../../stacks/Network";
import { Serving } from "../../stacks/Serving";
import { Storage } from "../../stacks/Storage";
import { expectRagRuntime } from "./rag-runtime";
import { itPassesSecurityChecks, resourcesOf, staticImports, synthOnce } from "./synth";

const jwt = { issuer: "https://login.example.com/realms/keel", audience: ["keel-notebooks", "keel-cli"] };
const out = synthOnce([Network, Storage, Features, Serving, Llm, Api], {
  stage: "infra-api",
  config: { jwt },
});
const t = () => out.templates.Api;

const apiFunction = () =>
  resourcesOf(t(), "AWS::Lambda::Function").find((f) => f.Handler === "functions/api.handler");

describe("Api stack", () => {
  it("has two HTTP APIs with exactly one catch-all route each to the one API function", () => {
    expect(resourcesOf(t(), "AWS::ApiGatewayV2::Api")).toHaveLength(2);
    // Besides the console's public GET routes (tests/infra/console.test.ts), all to the same function.
    const open = new Set(consolePublicRouteKeys());
    const routes = resourcesOf(t(), "AWS::ApiGatewayV2::Route").filter((r) => !open.has(r.RouteKey));
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([
      "$default",
      "$default",
      "ANY /v2/{proxy+}",
      "ANY /v2/{proxy+}",
    ]);
    // Each route's integration, by target: the app takes $default, the router takes /v2.
    const integrations = t().findResources("AWS::ApiGatewayV2::Integration");
    const targetOf = (route: { Target: { "Fn::Join": [string, unknown[]] } }) => {
      const id = JSON.stringify(route.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? "";
      return JSON.stringify(integrations[id]?.Properties.IntegrationUri);
    };
    for (const r of routes)
      expect(targetOf(r), r.RouteKey).toContain(r.RouteKey === "$default" ? "ApiFn" : "RouterFn");
    const handlers = resourcesOf(t(), "AWS::Lambda::Function").map((f) => f.Handler);
    expect(handlers.filter((h) => h === "functions/api.handler")).toHaveLength(1);
  });

  it("guards the user API with the stage's JWT issuer and audiences", () => {
    t().hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      IdentitySource: ["$request.header.Authorization"],
      JwtConfiguration: { Issuer: jwt.issuer, Audience: jwt.audience },
    });
    t().hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "$default", AuthorizationType: "JWT" });
    // An issuer given in settings means no Cognito pool is created.
    expect(resourcesOf(t(), "AWS::Cognito::UserPool")).toHaveLength(0);
  });

  it("guards the service API with IAM (SigV4)", () => {
    t().hasResourceProperties("AWS::ApiGatewayV2::Route", {
      RouteKey: "$default",
      AuthorizationType: "AWS_IAM",
    });
    const open = new Set(consolePublicRouteKeys());
    const kinds = resourcesOf(t(), "AWS::ApiGatewayV2::Route")
      .filter((r) => !open.has(r.RouteKey))
      .map((r) => r.AuthorizationType)
      .sort();
    expect(kinds).toEqual(["AWS_IAM", "AWS_IAM", "JWT", "JWT"]);
  });

  it("logs access on both APIs", () => {
    for (const stage of resourcesOf(t(), "AWS::ApiGatewayV2::Stage")) {
      expect(stage.AccessLogSettings?.DestinationArn).toBeDefined();
    }
  });

  it("runs the Hono app on nodejs22.x arm64 in the VPC with the platform's env names", () => {
    const fn = apiFunction();
    expect(fn).toMatchObject({
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      TracingConfig: { Mode: "Active" },
    });
    expect(fn.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    const vars = fn.Environment.Variables;
    for (const name of [
      ENV.STAGE,
      ENV.TABLE,
      ENV.ARTIFACT_ROOT,
      ENV.ONLINE_STORE,
      ENV.CQL_CONTACT_POINTS,
      ENV.CQL_KEYSPACE,
      ENV.CQL_LOCAL_DC,
      ENV.OFFLINE_ROOT,
    ]) {
      expect(vars, name).toHaveProperty(name);
    }
    expect(vars[ENV.STAGE]).toBe("infra-api");
    expect(vars[ENV.ONLINE_STORE]).toBe("cql");
    expect(vars[ENV.JWT_GROUP_CLAIM]).toBe("cognito:groups");
    expect(vars[ENV.IAM_ROLES]).toBe("data-scientist");
    // The console signs people in at the stage's JWT issuer with its app client.
    expect(vars[ENV.OIDC_ISSUER]).toBeDefined();
    expect(vars[ENV.OIDC_CLIENT_ID]).toBeDefined();
  });

  it("grants item-level table access (no Scan, no admin) and prefix-limited object access", () => {
    const statements = resourcesOf(t(), "AWS::IAM::Policy")
      .filter((p) => JSON.stringify(p.Roles).includes("ApiFn"))
      .flatMap((p) => p.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toContain("dynamodb:Query");
    expect(actions).not.toContain("dynamodb:Scan");
    expect(actions.filter((a) => a.startsWith("dynamodb:") && /Table|Delete.*Table|Restore/.test(a))).toEqual(
      [],
    );
    const objectGrants = statements.filter((s) => [s.Action].flat().includes("s3:GetObject"));
    expect(objectGrants.length).toBeGreaterThan(0);
    for (const s of objectGrants)
      expect(JSON.stringify(s.Resource)).toMatch(/\/(artifacts|models|offline|athena-results|rag)\/\*/);
  });

  it("bundles the app without onnxruntime-node or DuckDB, and loads no absent module at cold start", () => {
    const bundle = path.join(out.bundles["functions/api.handler"], "functions/api.mjs");
    const code = readFileSync(bundle, "utf8");
    // Their code (hundreds of MB with native binaries) stays out of the bundle ...
    expect(code).not.toMatch(/onnxruntime-node\/dist|InferenceSession\.create =/);
    expect(code).not.toContain("@duckdb/node-bindings-");
    // ... so nothing may import them (or dynalite) statically: Lambda would fail to start.
    expect(staticImports(bundle)).toEqual([]);
  });

  it("ships LanceDB's native binding for the API function's architecture, and pdf.js for uploads", () => {
    expect(apiFunction().Architectures).toEqual(["arm64"]);
    expectRagRuntime(apiFunction(), out.bundles["functions/api.handler"], { pdf: true });
  });

  it("sends RAG's embeddings and answers to the Llm stack's gateway URL", () => {
    const url = JSON.stringify(apiFunction().Environment.Variables[ENV.RAG_LLM_URL]);
    const exportName = url.match(/"Fn::ImportValue":"([^"]+)"/)?.[1];
    const outputs = Object.values(
      out.templates.Llm.toJSON().Outputs as Record<string, { Export?: { Name: string }; Value: unknown }>,
    );
    expect(JSON.stringify(outputs.find((o) => o.Export?.Name === exportName)?.Value)).toMatch(
      /"Fn::GetAtt":\["LlmGatewayFn\w*FunctionUrl\w*","FunctionUrl"\]/,
    );
    expect(url).toContain("llm/v1");
  });

  it("ships the console's build beside the handler, where consoleRoot() looks for it", () => {
    const dir = path.join(out.bundles["functions/api.handler"], "console");
    const html = readFileSync(path.join(dir, "index.html"), "utf8");
    expect(html).toMatch(/<html/i);
    // The page's own assets travel with it.
    const asset = html.match(/(?:src|href)="\/?([^"]+\.js)"/)?.[1];
    expect(asset).toBeDefined();
    expect(existsSync(path.join(dir, asset as string))).toBe(true);
  });

  itPassesSecurityChecks(out);
});
