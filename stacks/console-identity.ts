import { Duration, Lazy, type Stack } from "aws-cdk-lib";
import {
  AdvancedSecurityMode,
  FeaturePlan,
  Mfa,
  OAuthScope,
  UserPool,
  UserPoolClient,
  UserPoolClientIdentityProvider,
} from "aws-cdk-lib/aws-cognito";

/** Where the console answers the identity provider (its `/signin/callback` page). */
export const CONSOLE_CALLBACK_PATH = "/signin/callback";
/** Where the console lands after signing out. */
export const CONSOLE_LOGOUT_PATH = "/signin";

export interface CognitoIdentity {
  issuer: string;
  audience: string[];
  pool: UserPool;
  client: UserPoolClient;
  /** The hosted sign-in domain (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  hostedDomain: string;
}

/**
 * A stage without its own identity provider gets a Cognito user pool: MFA required, strong
 * passwords, threat protection enforced, and a hosted sign-in domain. One public app client
 * (no secret) serves notebooks and the CLI (SRP, refresh tokens) and the console (authorization
 * code flow with PKCE, scopes openid/email/profile).
 *
 * `consoleOrigins` is read lazily, at synthesis: the console's origins (the CloudFront
 * distribution, the user API) are made after the client, in the same stack, because the API's
 * JWT authorizer needs the client id. In CloudFormation that is no cycle: the client refers to
 * the distribution's domain and the API's id, the authorizer to the client, and neither the
 * distribution nor the API refers to the authorizer.
 */
export function cognitoIdentity(
  stack: Stack,
  stage: string,
  consoleOrigins: () => string[],
): CognitoIdentity {
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
  // The hosted UI's prefix is global per region: the stage and the account keep it unique.
  const domain = pool.addDomain("SignIn", {
    cognitoDomain: { domainPrefix: `keel-${stage}-${stack.account}`.toLowerCase() },
  });
  const urls = (path: string) => Lazy.list({ produce: () => consoleOrigins().map((o) => `${o}${path}`) });
  const client = new UserPoolClient(stack, "UsersClient", {
    userPool: pool,
    // Notebooks and the CLI sign in (SRP, or password over TLS from the AWS CLI) and keep a
    // refresh token; a public client, so no secret to leak from a notebook or a browser.
    authFlows: { userSrp: true, userPassword: true },
    generateSecret: false,
    // The console: code flow only (no implicit grant); Cognito requires PKCE's verifier from a
    // public client that sent a challenge.
    oAuth: {
      flows: { authorizationCodeGrant: true, implicitCodeGrant: false },
      scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
      callbackUrls: urls(CONSOLE_CALLBACK_PATH),
      logoutUrls: urls(CONSOLE_LOGOUT_PATH),
    },
    supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
    accessTokenValidity: Duration.hours(1),
    idTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.days(30),
    preventUserExistenceErrors: true,
    enableTokenRevocation: true,
  });
  return {
    issuer: `https://cognito-idp.${stack.region}.amazonaws.com/${pool.userPoolId}`,
    audience: [client.userPoolClientId],
    pool,
    client,
    hostedDomain: domain.baseUrl(),
  };
}
