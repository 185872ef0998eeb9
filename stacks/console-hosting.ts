import { CONSOLE_DIST, RESERVED_PREFIXES } from "@keel/console";
import { Duration, Fn, RemovalPolicy, type Stack } from "aws-cdk-lib";
import {
  AllowedMethods,
  CacheCookieBehavior,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  Function as CloudFrontFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from "aws-cdk-lib/aws-cloudfront";
import { HttpOrigin, S3BucketOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { BucketDeployment, CacheControl, Source } from "aws-cdk-lib/aws-s3-deployment";
import { suppress } from "./nag";

/**
 * What the browser may load and call. Scripts and styles come from the distribution only
 * (Preact sets style attributes, uPlot sizes its canvas inline); API calls go to the same origin,
 * sign-in calls go to the identity provider's discovery and token endpoints (https).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' https:",
  "frame-src 'self' blob: data:",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self' https:",
  "object-src 'none'",
].join("; ");

/**
 * Client routes (paths without a file extension) are rewritten to /index.html at the edge, so a
 * link to /models/x/versions/3 loads the SPA. Error-page rewriting is not used: it would also
 * turn the API's own 403/404 answers into the page.
 */
const SPA_REWRITE = `function handler(event) {
  var r = event.request;
  if (r.uri.indexOf(".") === -1) r.uri = "/index.html";
  return r;
}`;

export interface ConsoleHosting {
  bucket: Bucket;
  distribution: Distribution;
  /** https://<id>.cloudfront.net */
  url: string;
}

/**
 * The console as static files in a private S3 bucket (read by CloudFront through Origin Access
 * Control only) behind a distribution whose default behaviour is the SPA; the API's paths
 * (`/api/*`, MLflow's `/ajax-api/*`, `/llm/*`, `/v2/*`, ...) go to the user API as origin,
 * uncached, with the Authorization header, every query string and the viewer's headers except
 * Host. The files are uploaded by a BucketDeployment from the Vite build (an asset zipped at synth).
 */
export function consoleHosting(
  stack: Stack,
  opts: { apiUrl: string; logBucket: IBucket; removal: RemovalPolicy },
): ConsoleHosting {
  const destroy = opts.removal === RemovalPolicy.DESTROY;
  const bucket = new Bucket(stack, "ConsoleFiles", {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: BucketEncryption.S3_MANAGED,
    removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    autoDeleteObjects: destroy,
    serverAccessLogsBucket: opts.logBucket,
    serverAccessLogsPrefix: "console-files/",
  });

  const security = new ResponseHeadersPolicy(stack, "ConsoleSecurityHeaders", {
    comment: "Keel console security headers",
    securityHeadersBehavior: {
      contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
      strictTransportSecurity: {
        accessControlMaxAge: Duration.days(365),
        includeSubdomains: true,
        preload: false,
        override: true,
      },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
      referrerPolicy: {
        referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
        override: true,
      },
      xssProtection: { protection: true, modeBlock: true, override: true },
    },
  });

  // The API must see the caller's token: Authorization can only be forwarded through the cache
  // key, so this policy keys on it and caches nothing (TTL 0 unless the API says otherwise; it never does).
  const apiCache = new CachePolicy(stack, "ConsoleApiNoCache", {
    comment: "Keel API through the console's distribution: forwards the JWT, caches nothing",
    defaultTtl: Duration.seconds(0),
    minTtl: Duration.seconds(0),
    maxTtl: Duration.seconds(1),
    headerBehavior: CacheHeaderBehavior.allowList("Authorization"),
    queryStringBehavior: CacheQueryStringBehavior.all(),
    cookieBehavior: CacheCookieBehavior.none(),
    enableAcceptEncodingGzip: true,
    enableAcceptEncodingBrotli: true,
  });
  // https://<id>.execute-api.<region>.amazonaws.com -> the host name.
  const apiOrigin = new HttpOrigin(Fn.select(2, Fn.split("/", opts.apiUrl)), {
    protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
    readTimeout: Duration.seconds(30),
  });
  const apiBehaviour = {
    origin: apiOrigin,
    viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
    allowedMethods: AllowedMethods.ALLOW_ALL,
    cachePolicy: apiCache,
    // API Gateway routes by its own Host name: every viewer header but Host.
    originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    responseHeadersPolicy: security,
  };
  const rewrite = new CloudFrontFunction(stack, "ConsoleSpaRewrite", {
    code: FunctionCode.fromInline(SPA_REWRITE),
    runtime: FunctionRuntime.JS_2_0,
    comment: "Keel console: client routes answer index.html",
  });

  const distribution = new Distribution(stack, "Console", {
    comment: "Keel console and API",
    defaultRootObject: "index.html",
    httpVersion: HttpVersion.HTTP2_AND_3,
    priceClass: PriceClass.PRICE_CLASS_100,
    enableLogging: true,
    logBucket: opts.logBucket,
    logFilePrefix: "console-cdn/",
    defaultBehavior: {
      origin: S3BucketOrigin.withOriginAccessControl(bucket),
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      cachePolicy: CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: security,
      functionAssociations: [{ function: rewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
    },
    // The same paths the Hono app keeps from the console (RESERVED_PREFIXES) go to the API.
    additionalBehaviors: Object.fromEntries(RESERVED_PREFIXES.map((p) => [`${p}*`, apiBehaviour])),
  });
  suppress(distribution, [
    [
      "AwsSolutions-CFR1",
      "The console is for the organisation's people wherever they are; sign-in and the API's JWT check decide access, not geography.",
    ],
    [
      "AwsSolutions-CFR2",
      "The API behind it has its own throttling and JWT authorizer; a stage that needs WAF attaches its web ACL to this distribution.",
    ],
    [
      "AwsSolutions-CFR4",
      "The default *.cloudfront.net certificate cannot be pinned to TLSv1.2_2021; a custom domain's certificate can (minimumProtocolVersion).",
    ],
  ]);

  // Hashed assets are immutable; everything else (index.html) is revalidated on every load.
  // Two uploads, neither pruning, so a tab still open on the previous build finds its assets.
  const files = Source.asset(CONSOLE_DIST);
  const assets = new BucketDeployment(stack, "ConsoleAssets", {
    sources: [files],
    destinationBucket: bucket,
    exclude: ["*"],
    include: ["assets/*"],
    prune: false,
    cacheControl: [CacheControl.fromString("public, max-age=31536000, immutable")],
    memoryLimit: 512,
  });
  const pages = new BucketDeployment(stack, "ConsolePages", {
    sources: [files],
    destinationBucket: bucket,
    exclude: ["assets/*"],
    prune: false,
    cacheControl: [CacheControl.noCache()],
    memoryLimit: 512,
  });
  pages.node.addDependency(assets);
  const url = `https://${distribution.distributionDomainName}`;
  return { bucket, distribution, url };
}

/** cdk-nag findings on the upload helper CDK adds (one Lambda per stack, singleton). */
export function suppressDeploymentHelper(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith("Custom::CDKBucketDeployment")) continue;
    suppress(child, [
      [
        "AwsSolutions-IAM4",
        "CDK's BucketDeployment helper writes its own logs through AWSLambdaBasicExecutionRole; it runs only at deploy time.",
      ],
      [
        "AwsSolutions-IAM5",
        "CDK's BucketDeployment helper copies the console's asset zip into the console bucket; its grants are limited to those two buckets.",
      ],
      [
        "AwsSolutions-L1",
        "CDK's BucketDeployment helper pins its own Python runtime with the AWS CLI layer; it runs only at deploy time.",
      ],
    ]);
  }
}
