import { consolePublicRouteKeys, ensureConsoleBuilt } from "@keel/console";
import { ENV } from "@keel/core";
import { Aws } from "aws-cdk-lib";
import { CfnRoute } from "aws-cdk-lib/aws-apigatewayv2";
import { Effect, ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IConstruct } from "constructs";
import { Api as HttpApi, type Function as SstFunction, type StackContext, use } from "sst/constructs";
import { removalPolicy } from "./app";
import { type ConsoleHosting, consoleHosting, suppressDeploymentHelper } from "./console-hosting";
import { cognitoIdentity } from "./console-identity";
import { Features } from "./Features";
import { grantPrefix, grantTable, keelFunction, platformEnv } from "./functions";
import { Llm } from "./Llm";
import { Network } from "./Network";
import { resourceEndingWith, suppress } from "./nag";
import { ragRuntime } from "./rag-runtime";
import { Serving } from "./Serving";
import { PREFIX, Storage } from "./Storage";
import { identityEnv, stageSettings } from "./settings";

/** SST's names for the log retentions a stage may choose. */
export const RETENTION_NAME = { 7: "one_week", 30: "one_month", 365: "one_year", 3653: "ten_years" } as const;

/**
 * The platform's HTTP entry points. One Lambda (`functions/api.ts`, the Hono app) serves every
 * path; two HTTP APIs in front of it differ only in who may call:
 *  - UserApi: a JWT authorizer (OIDC issuer/audience per stage, or the stage's own Cognito
 *    pool). Notebooks send `MLFLOW_TRACKING_TOKEN` as `Authorization: Bearer <jwt>`; the CLI,
 *    SDK and browsers do the same.
 *  - ServiceApi: IAM (SigV4). Pipelines' Step Functions tasks, the scoring consumer, CI and
 *    other AWS workloads call `/api/v1/*` and `/v2/*` with their role, no tokens to rotate.
 * Each API has exactly ONE catch-all route to the app (`$default`), so routing stays in the
 * Hono app and there is one function to warm, not one per route. Inference (`/v2/{proxy+}`)
 * goes to the router Lambda (`functions/router.ts`) instead, with its own concurrency, memory and
 * timeout, so a burst of scoring traffic cannot starve the control plane and vice versa.
 */
/** The console's Vite build, from the repository root (SST resolves copyFiles from there). */
export const CONSOLE_FROM = "packages/console/dist";

export function Api({ stack, app }: StackContext) {
  const settings = stageSettings(app);
  const { vpc, lambdaSg, privateSubnets } = use(Network);
  const { table, bucket, key, accessLogs } = use(Storage);
  const features = use(Features);
  const serving = use(Serving);
  const { gatewayUrl } = use(Llm);

  // The console ships inside the bundle as console/ (consoleRoot() finds it beside the handler);
  // a deploy builds it first when the build is missing or older than its sources.
  ensureConsoleBuilt({ quiet: true });
  const apiFn = keelFunction(stack, "ApiFn", {
    handler: "functions/api.handler",
    copyFiles: [{ from: CONSOLE_FROM, to: "console" }],
    description: "Keel HTTP API (MLflow REST, /api/v1, artifact proxy)",
    memorySize: 1769, // one full vCPU: JSON-heavy search and artifact proxying are CPU-bound
    timeout: 29, // API Gateway's integration limit is 30 s
    vpc,
    vpcSubnets: privateSubnets,
    securityGroups: [lambdaSg],
    // Knowledge bases (LanceDB) are queried and documents (PDFs too) ingested here.
    ...ragRuntime({ pdf: true }),
    environment: {
      ...platformEnv(app.stage, table, bucket, PREFIX.artifacts),
      ...features.onlineEnv,
      ...features.offlineEnv,
      ...serving.apiEnv,
      [ENV.PIPELINE_EXECUTOR]: "stepfunctions",
      [ENV.RAG_ROOT]: `s3://${bucket.bucketName}/${PREFIX.rag}`,
      // RAG's embeddings and answers go through the stage's gateway (its routes, Bedrock grants,
      // budgets), as the caller: their own token is forwarded.
      [ENV.RAG_LLM_URL]: gatewayUrl,
      ...identityEnv(settings),
    },
  });
  grantTable(apiFn, table, key, "readwrite");
  grantPrefix(apiFn, bucket, key, PREFIX.artifacts, "readwrite");
  // Approved versions are published into the Triton model repository the GPU nodes sync.
  grantPrefix(apiFn, bucket, key, PREFIX.models, "readwrite");
  // Knowledge bases: LanceDB tables under rag/, queried and written straight from the function.
  grantPrefix(apiFn, bucket, key, PREFIX.rag, "readwrite");
  serving.logKey.grantRead(apiFn);
  features.grantOnline(apiFn);
  features.grantOffline(apiFn);
  // POST /api/v1/deployments/{name}/infer-async enqueues; the consumer answers later.
  serving.grantEnqueue(apiFn);
  grantPipelineRuns(apiFn, app.stage);

  // The console's origins are known only once the API and the distribution exist (below); the
  // Cognito client reads them lazily (see cognitoIdentity: no CloudFormation cycle).
  let origins: string[] = [];
  const cognito = settings.jwt ? undefined : cognitoIdentity(stack, app.stage, () => origins);
  const jwt = cognito ? { issuer: cognito.issuer, audience: cognito.audience } : settings.jwt;
  if (!jwt) throw new Error("unreachable: a stage without jwt settings gets a Cognito pool");
  // The console signs people in at this issuer (OIDC code flow with PKCE, GET /api/v1/console/config).
  apiFn.addEnvironment(ENV.OIDC_ISSUER, jwt.issuer);
  apiFn.addEnvironment(ENV.OIDC_CLIENT_ID, jwt.audience[0] as string);
  const accessLog = {
    retention: RETENTION_NAME[settings.logRetentionDays],
    // JSON lines with the caller, so access is auditable next to the audit trail.
    format: JSON.stringify({
      requestId: "$context.requestId",
      ip: "$context.identity.sourceIp",
      caller: "$context.identity.caller",
      user: "$context.identity.userArn",
      sub: "$context.authorizer.claims.sub",
      time: "$context.requestTime",
      method: "$context.httpMethod",
      path: "$context.path",
      status: "$context.status",
      latency: "$context.responseLatency",
    }),
  };

  const userApi = new HttpApi(stack, "UserApi", {
    authorizers: { jwt: { type: "jwt", jwt } },
    defaults: { authorizer: "jwt", throttle: { rate: 500, burst: 1000 } },
    accessLog,
    routes: {
      $default: apiFn,
      "ANY /v2/{proxy+}": serving.router,
      // The console's page shell, assets and sign-in config: a browser opening a page has no token yet.
      ...Object.fromEntries(
        consolePublicRouteKeys().map((key) => [key, { function: apiFn, authorizer: "none" as const }]),
      ),
    },
  });
  suppressPublicRoutes(userApi);
  const serviceApi = new HttpApi(stack, "ServiceApi", {
    defaults: { authorizer: "iam", throttle: { rate: 1000, burst: 2000 } },
    accessLog,
    routes: { $default: apiFn, "ANY /v2/{proxy+}": serving.router },
  });

  // What a machine caller's role attaches to call the service API (any route, any method).
  const serviceCallerPolicy = new ManagedPolicy(stack, "ServiceCallerPolicy", {
    description: `Call Keel ${app.stage}'s service API with SigV4`,
    statements: [
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ["execute-api:Invoke"],
        resources: [
          `arn:${stack.partition}:execute-api:${stack.region}:${stack.account}:${serviceApi.httpApiId}/*`,
        ],
      }),
    ],
  });
  suppress(serviceCallerPolicy, [
    [
      "AwsSolutions-IAM5",
      "Service callers may use every route of this one API (routing and authorization happen in the app).",
      [resourceEndingWith(`/*`)],
    ],
  ]);

  const hosting: ConsoleHosting = consoleHosting(stack, {
    apiUrl: userApi.url,
    logBucket: accessLogs,
    removal: removalPolicy(settings),
  });
  suppressDeploymentHelper(stack);
  origins = [hosting.url, userApi.url];

  stack.addOutputs({
    ConsoleUrl: hosting.url,
    ...(cognito ? { SignInDomain: cognito.hostedDomain } : {}),
    UserApiUrl: userApi.url,
    ServiceApiUrl: serviceApi.url,
    ServiceCallerPolicyArn: serviceCallerPolicy.managedPolicyArn,
    JwtIssuer: jwt.issuer,
  });
  return { apiFn, userApi, serviceApi, jwt, serviceCallerPolicy, hosting };
}

/**
 * Lets the API start, watch and stop runs of this stage's pipelines. State machines are found
 * by name (`keel-<stage>-<pipeline>`, see the Pipelines stack), so grants use that name pattern
 * and the Api stack does not depend on which pipelines are deployed.
 */
function grantPipelineRuns(fn: SstFunction, stage: string): void {
  const arn = (kind: string, rest: string) =>
    `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:${kind}:keel-${stage}-${rest}`;
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["states:StartExecution"],
      resources: [arn("stateMachine", "*")],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"],
      resources: [arn("execution", "*:*")],
    }),
  );
  // ListStateMachines has no resource-level permissions; it reveals names only.
  fn.addToRolePolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ["states:ListStateMachines"], resources: ["*"] }),
  );
  suppress(fn, [
    [
      "AwsSolutions-IAM5",
      "Pipelines are deployed as keel-<stage>-<pipeline> state machines; grants cover this stage's machines and their executions only.",
      [{ regex: `/^Resource::arn:.*:states:.*:(stateMachine|execution):keel-${stage}-\\*(:\\*)?$/g` }],
    ],
  ]);
}

/** The console's public GET routes (page shell, assets, sign-in config) carry no authorizer by design. */
function suppressPublicRoutes(api: IConstruct): void {
  const open = new Set(consolePublicRouteKeys());
  for (const c of api.node.findAll()) {
    if (c instanceof CfnRoute && open.has(c.routeKey))
      suppress(c, [
        [
          "AwsSolutions-APIG4",
          "A browser opening a console page has no token yet: the page, its assets and the sign-in settings are public; every API path keeps the JWT authorizer.",
        ],
      ]);
  }
}
