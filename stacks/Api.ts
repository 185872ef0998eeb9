import { ensureConsoleBuilt } from "@keel/console";
import { ENV } from "@keel/core";
import { Aws, Duration } from "aws-cdk-lib";
import { AdvancedSecurityMode, FeaturePlan, Mfa, UserPool, UserPoolClient } from "aws-cdk-lib/aws-cognito";
import { Effect, ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Api as HttpApi, type Function as SstFunction, type StackContext, use } from "sst/constructs";
import { Features } from "./Features";
import { grantPrefix, grantTable, keelFunction, platformEnv } from "./functions";
import { Network } from "./Network";
import { resourceEndingWith, suppress } from "./nag";
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
  const { table, bucket, key } = use(Storage);
  const features = use(Features);
  const serving = use(Serving);

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
    environment: {
      ...platformEnv(app.stage, table, bucket, PREFIX.artifacts),
      ...features.onlineEnv,
      ...features.offlineEnv,
      ...serving.apiEnv,
      [ENV.PIPELINE_EXECUTOR]: "stepfunctions",
      [ENV.RAG_ROOT]: `s3://${bucket.bucketName}/${PREFIX.rag}`,
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

  const jwt = settings.jwt ?? cognitoIssuer(stack, app.stage);
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
    routes: { $default: apiFn, "ANY /v2/{proxy+}": serving.router },
  });
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

  stack.addOutputs({
    UserApiUrl: userApi.url,
    ServiceApiUrl: serviceApi.url,
    ServiceCallerPolicyArn: serviceCallerPolicy.managedPolicyArn,
    JwtIssuer: jwt.issuer,
  });
  return { apiFn, userApi, serviceApi, jwt, serviceCallerPolicy };
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

/**
 * A stage without its own identity provider gets a Cognito user pool: MFA required, strong
 * passwords, threat protection enforced. Its issuer and app client become the JWT authorizer's.
 */
function cognitoIssuer(stack: StackContext["stack"], stage: string): { issuer: string; audience: string[] } {
  const pool = new UserPool(stack, "Users", {
    userPoolName: `keel-${stage}`,
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    mfa: Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    passwordPolicy: {
      minLength: 12,
      requireDigits: true,
      requireLowercase: true,
      requireUppercase: true,
      requireSymbols: true,
    },
    featurePlan: FeaturePlan.PLUS,
    advancedSecurityMode: AdvancedSecurityMode.ENFORCED,
  });
  const client = new UserPoolClient(stack, "UsersClient", {
    userPool: pool,
    // Notebooks and the CLI sign in (SRP, or password over TLS from the AWS CLI) and keep a
    // refresh token; a public client, so no secret to leak from a notebook.
    authFlows: { userSrp: true, userPassword: true },
    accessTokenValidity: Duration.hours(1),
    idTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.days(30),
    preventUserExistenceErrors: true,
  });
  return {
    issuer: `https://cognito-idp.${stack.region}.amazonaws.com/${pool.userPoolId}`,
    audience: [client.userPoolClientId],
  };
}
