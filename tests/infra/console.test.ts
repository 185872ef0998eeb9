import { readFileSync } from "node:fs";
import { CONSOLE_PAGE_PREFIXES, RESERVED_PREFIXES } from "@keel/console";
import { Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { Api } from "../../stacks/Api";
import { CONSOLE_CSP } from "../../stacks/console-hosting";
import { Features } from "../../stacks/Features";
import { Llm } from "../../stacks/Llm";
import { Network } from "../../stacks/Network";
import { Serving } from "../../stacks/Serving";
import { Storage } from "../../stacks/Storage";
import { itPassesSecurityChecks, resourcesOf, synthOnce } from "./synth";

/** A stage with no identity provider of its own: Cognito signs people in to the console. */
const out = synthOnce([Network, Storage, Features, Serving, Llm, Api], { stage: "infra-console" });
const t = () => out.templates.Api;
const json = (v: unknown) => JSON.stringify(v);

describe("the console in AWS: sign-in", () => {
  it("gives the pool a hosted sign-in domain", () => {
    const [domain] = resourcesOf(t(), "AWS::Cognito::UserPoolDomain");
    expect(domain.Domain).toBe("keel-infra-console-123456789012");
  });

  it("lets the one public app client use the code flow (PKCE, no secret) with the console's callbacks", () => {
    const [client] = resourcesOf(t(), "AWS::Cognito::UserPoolClient");
    expect(client.GenerateSecret).toBe(false);
    expect(client.AllowedOAuthFlows).toEqual(["code"]);
    expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect([...client.AllowedOAuthScopes].sort()).toEqual(["email", "openid", "profile"]);
    // Notebooks and the CLI keep SRP and refresh tokens on the same client (one audience).
    expect(client.ExplicitAuthFlows).toContain("ALLOW_USER_SRP_AUTH");
    // Callbacks on the CloudFront distribution and on the API (which serves the console too).
    const callbacks = json(client.CallbackURLs);
    expect(callbacks).toMatch(/"Console[0-9A-F]{8}","DomainName".*\/signin\/callback/);
    expect(callbacks).toMatch(/UserApi.*\/signin\/callback/);
    expect(json(client.LogoutURLs)).toContain("/signin");
  });

  it("checks the console client's ID tokens at the JWT authorizer (audience = the client)", () => {
    const [authorizer] = resourcesOf(t(), "AWS::ApiGatewayV2::Authorizer");
    expect(json(authorizer.JwtConfiguration.Audience)).toContain("UsersClient");
    expect(json(authorizer.JwtConfiguration.Issuer)).toContain("cognito-idp");
  });

  it("routes the console config, the page shell and its assets past the authorizer, nothing else", () => {
    const routes = resourcesOf(t(), "AWS::ApiGatewayV2::Route");
    const open = routes.filter((r) => (r.AuthorizationType ?? "NONE") === "NONE").map((r) => r.RouteKey);
    expect(open).toContain("GET /api/v1/console/config");
    expect(open).toContain("GET /");
    expect(open).toContain("GET /assets/{proxy+}");
    for (const p of CONSOLE_PAGE_PREFIXES) expect(open).toContain(`GET /${p}/{proxy+}`);
    // No API path is open: only the config route lies under a reserved prefix.
    const apiOpen = open.filter((k) => RESERVED_PREFIXES.some((p) => k.slice(4).startsWith(p)));
    expect(apiOpen).toEqual(["GET /api/v1/console/config"]);
    // $default (every other path) stays behind the JWT authorizer.
    expect(routes.find((r) => r.RouteKey === "$default" && r.AuthorizationType === "JWT")).toBeDefined();
  });

  it("tells the API function the issuer and client the console signs in with", () => {
    const fn = resourcesOf(t(), "AWS::Lambda::Function").find((f) => f.Handler === "functions/api.handler");
    expect(json(fn.Environment.Variables.KEEL_OIDC_CLIENT_ID)).toContain("UsersClient");
  });
});

describe("the console in AWS: CloudFront hosting", () => {
  it("keeps the files in a private bucket read through Origin Access Control", () => {
    const bucket = Object.entries(t().findResources("AWS::S3::Bucket")).find(([id]) =>
      id.startsWith("ConsoleFiles"),
    )?.[1].Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    t().hasResourceProperties("AWS::CloudFront::OriginAccessControl", {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: "s3",
        SigningBehavior: "always",
      }),
    });
    const policy = resourcesOf(t(), "AWS::S3::BucketPolicy").find((p) =>
      json(p.Bucket).includes("ConsoleFiles"),
    );
    expect(json(policy.PolicyDocument)).toContain("cloudfront.amazonaws.com");
  });

  it("uploads the Vite build (an asset made offline) in two parts, assets immutable and pages revalidated", () => {
    const uploads = resourcesOf(t(), "Custom::CDKBucketDeployment");
    expect(uploads).toHaveLength(2);
    const controls = uploads.map((u) => json(u.SystemMetadata)).sort();
    expect(controls.join(" ")).toContain("immutable");
    expect(controls.join(" ")).toContain("no-cache");
    for (const u of uploads) expect(u.Prune).toBe(false);
    expect(readFileSync("packages/console/dist/index.html", "utf8")).toMatch(/<html/i);
  });

  it("serves the SPA by default (client routes rewritten to index.html at the edge) with security headers", () => {
    const [dist] = resourcesOf(t(), "AWS::CloudFront::Distribution");
    const config = dist.DistributionConfig;
    expect(config.DefaultRootObject).toBe("index.html");
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe("redirect-to-https");
    expect(config.DefaultCacheBehavior.FunctionAssociations[0].EventType).toBe("viewer-request");
    expect(config.CustomErrorResponses).toBeUndefined(); // the API's 404s stay 404s
    const [fn] = resourcesOf(t(), "AWS::CloudFront::Function");
    expect(fn.FunctionCode).toContain('"/index.html"');
    const [headers] = resourcesOf(t(), "AWS::CloudFront::ResponseHeadersPolicy");
    const security = headers.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(security.ContentSecurityPolicy.ContentSecurityPolicy).toBe(CONSOLE_CSP);
    expect(security.FrameOptions.FrameOption).toBe("DENY");
    expect(security.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThan(0);
    expect(security.ContentTypeOptions.Override).toBe(true);
    expect(config.Logging.Prefix).toBe("console-cdn/");
  });

  it("sends the API's paths to the user API uncached, with the JWT, query strings and all headers but Host", () => {
    const [dist] = resourcesOf(t(), "AWS::CloudFront::Distribution");
    const config = dist.DistributionConfig;
    const patterns = config.CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern).sort();
    expect(patterns).toEqual(expect.arrayContaining(["/api*", "/ajax-api*", "/llm*", "/v2*"]));
    const apiOrigin = config.Origins.find((o: { CustomOriginConfig?: unknown }) => o.CustomOriginConfig);
    expect(json(apiOrigin.DomainName)).toContain("UserApi");
    expect(apiOrigin.CustomOriginConfig.OriginProtocolPolicy).toBe("https-only");
    const [cache] = resourcesOf(t(), "AWS::CloudFront::CachePolicy");
    const c = cache.CachePolicyConfig;
    expect(c.DefaultTTL).toBe(0);
    expect(c.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig.Headers).toEqual(["Authorization"]);
    expect(c.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig.QueryStringBehavior).toBe("all");
    for (const b of config.CacheBehaviors) {
      expect(b.AllowedMethods).toContain("POST");
      // Managed AllViewerExceptHostHeader: API Gateway routes by its own host name.
      expect(b.OriginRequestPolicyId).toBe("b689b0a8-53d0-40ab-baf2-68738e2966ac");
    }
  });

  it("outputs the console's URL and the sign-in domain", () => {
    const outputs = Object.keys(t().toJSON().Outputs ?? {});
    expect(outputs).toEqual(expect.arrayContaining(["ConsoleUrl", "SignInDomain"]));
  });

  itPassesSecurityChecks(out);
});
