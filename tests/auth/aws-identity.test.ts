import { identityFromClaims } from "@keel/auth";
import { ROLES } from "@keel/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { modelWithVersion, type TestPlatform } from "./fixtures";
import { accessToken, ISSUER, iamCaller, idToken, lambdaInvoker } from "./lambda-events";

let p: TestPlatform;
let lambda: ReturnType<typeof lambdaInvoker>;

beforeAll(async () => {
  // IAM callers hold approver here, so the refusal below comes from the service's requireHuman.
  p = await startTestPlatform({ config: { auth: { iamRoles: ["data-scientist", "approver"] } } });
  lambda = lambdaInvoker(p.platform.app, new URL(p.url).host);
  await modelWithVersion(p, "aws-fraud");
});
afterAll(async () => {
  await p?.close();
});

/** The principal the audit trail recorded for the last event of an action. */
async function lastPrincipal(action: string): Promise<string> {
  const r = await p.call("GET", `/api/v1/audit?action=${action}`);
  return r.json.events.at(-1).principal;
}

describe("identity in AWS comes only from the API Gateway authorizer", () => {
  it("answers 401 without authorizer context, ignoring x-keel-principal and unverified Bearer JWTs", async () => {
    const header = await lambda("GET", "/api/2.0/mlflow/experiments/search?max_results=1", {
      headers: { "x-keel-principal": "admin" },
    });
    expect(header.status).toBe(401);
    expect(header.json.error_code).toBe("UNAUTHENTICATED");
    const forged = Buffer.from(JSON.stringify({ sub: "admin", email: "admin@bank.example" })).toString(
      "base64url",
    );
    const jwt = await lambda("GET", "/api/2.0/mlflow/experiments/search?max_results=1", {
      headers: { authorization: `Bearer e30.${forged}.sig` },
    });
    expect(jwt.status).toBe(401);
    expect((await lambda("GET", "/health")).status).toBe(200);
  });

  it("makes <issuer>|<sub> the principal, so an ID and an access token of one person are one principal", async () => {
    const asId = await lambda("POST", "/api/2.0/mlflow/experiments/create", {
      authorizer: idToken("5f0c-AAA", "Alice@Bank.example", "[data-scientist approver]"),
      body: { name: "aws-id-token" },
    });
    expect(asId.status).toBe(200);
    const principal = await lastPrincipal("tracking.experiment.create");
    expect(principal).toBe(`${ISSUER.toLowerCase()}|5f0c-aaa`);
    const asAccess = await lambda("POST", "/api/2.0/mlflow/experiments/create", {
      authorizer: accessToken("5f0c-AAA", "[data-scientist]"),
      body: { name: "aws-access-token" },
    });
    expect(asAccess.status).toBe(200);
    expect(await lastPrincipal("tracking.experiment.create")).toBe(principal);
  });

  it("keeps the four-eyes rule across token kinds: the requester's access token cannot approve", async () => {
    const requested = await lambda("POST", "/api/v1/models/aws-fraud/versions/1/promotions", {
      authorizer: idToken("person-1", "alice@bank.example", "[data-scientist]"),
      body: { stage: "Production" },
    });
    expect(requested.status).toBe(201);
    const id = requested.json.promotion.id;
    const self = await lambda("POST", `/api/v1/promotions/${id}/approve`, {
      authorizer: accessToken("person-1", "[approver]"),
      body: { comment: "mine" },
    });
    expect(self.status).toBe(403);
    expect(self.json.message).toContain("four-eyes");

    // A service (IAM role) may not approve, whatever session name it picks.
    const iam = await lambda("POST", `/api/v1/promotions/${id}/approve`, {
      authorizer: iamCaller("ci-deployer", "bob"),
      body: {},
    });
    expect(iam.status).toBe(403);
    expect(iam.json.error_code).toBe("PERMISSION_DENIED");
    expect(iam.json.message).toContain("requires a person");

    const other = await lambda("POST", `/api/v1/promotions/${id}/approve`, {
      authorizer: accessToken("person-2", "[approver]"),
      body: { comment: "checked" },
    });
    expect(other.status).toBe(200);
    expect(other.json.promotion.reviewer).toBe(`${ISSUER.toLowerCase()}|person-2`);
  });

  it("maps IAM callers to the role ARN, not the session name they chose", async () => {
    for (const session of ["alice", "bob"]) {
      const r = await lambda("POST", "/api/2.0/mlflow/experiments/create", {
        authorizer: iamCaller("Pipelines", session),
        body: { name: `aws-iam-${session}` },
      });
      expect(r.status).toBe(200);
      expect(await lastPrincipal("tracking.experiment.create")).toBe(
        "arn:aws:iam::123456789012:role/pipelines",
      );
    }
  });

  it("takes roles from the group claim, ignores unknown groups, and refuses with the missing permission", async () => {
    const r = await lambda("POST", "/api/2.0/mlflow/experiments/create", {
      authorizer: idToken("viewer-1", "v@bank.example", "[viewer finance-team]"),
      body: { name: "aws-viewer" },
    });
    expect(r.status).toBe(403);
    expect(r.json.error_code).toBe("PERMISSION_DENIED");
    expect(r.json.message).toContain("permission 'write'");
    const read = await lambda("GET", "/api/2.0/mlflow/experiments/search?max_results=1", {
      authorizer: idToken("viewer-1", "v@bank.example", "[viewer finance-team]"),
    });
    expect(read.status).toBe(200);
    const denied = await p.call("GET", "/api/v1/audit?action=access.denied");
    expect(denied.json.events.at(-1)).toMatchObject({
      principal: `${ISSUER.toLowerCase()}|viewer-1`,
      resource: "route:POST /api/2.0/mlflow/experiments/create",
    });
  });
});

describe("claims → identity", () => {
  it("uses the configured group claim and shows the e-mail only when it is verified", () => {
    const claims = {
      iss: ISSUER,
      sub: "u",
      email: "u@bank.example",
      email_verified: "false",
      roles: ["admin", "x"],
    };
    const id = identityFromClaims(claims, "roles");
    expect(id.roles).toEqual(["admin"]);
    expect(id.display).toBeUndefined();
    expect(identityFromClaims({ ...claims, email_verified: true }, "roles").display).toBe("u@bank.example");
    expect(identityFromClaims(claims, "cognito:groups").roles).toEqual([]);
    expect(() => identityFromClaims({ sub: "u" }, "roles")).toThrow(/issuer/);
    expect(ROLES).toContain("auditor");
  });
});
