import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, bearer, modelWithVersion, type TestPlatform } from "../auth/fixtures";
import { accessToken, iamCaller, idToken, lambdaInvoker } from "../auth/lambda-events";
import { startTestPlatform } from "../helpers/platform";

/**
 * Finding 4 of issue 11: one person was several principals (`Alice` vs `alice`; an ID token's
 * e-mail vs an access token's uuid; an IAM caller's self-chosen session name), headers were
 * trusted without authorizer context, and anyone could approve. Each must now be refused.
 */
/** HTTP headers are bytes: a name travels as its UTF-8 bytes (fetch wants each byte as one char). */
const as = (principal: string) => ({ "x-keel-principal": Buffer.from(principal, "utf8").toString("latin1") });

describe("finding 4 (laptop mode): names are canonical", () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform();
    await modelWithVersion(p, "f4-laptop");
  });
  afterAll(async () => {
    await p?.close();
  });

  it("Alice cannot approve alice's promotion, nor can ' ALICE ' or the full-width ａｌｉｃｅ", async () => {
    const req = await p.call(
      "POST",
      "/api/v1/models/f4-laptop/versions/1/promotions",
      { stage: "Production" },
      as("alice"),
    );
    expect(req.status).toBe(201);
    const id = req.json.promotion.id;
    for (const disguise of ["Alice", " ALICE ", "ａｌｉｃｅ"]) {
      const r = await p.call("POST", `/api/v1/promotions/${id}/approve`, { comment: "lgtm" }, as(disguise));
      expect(r.status, disguise).toBe(403);
      expect(r.json.message).toContain("four-eyes");
    }
    const bob = await p.call("POST", `/api/v1/promotions/${id}/approve`, { comment: "ok" }, as("Bob"));
    expect(bob.status).toBe(200);
    expect(bob.json.promotion.reviewer).toBe("bob");
  });

  it("refuses principals with whitespace or control characters inside (400)", async () => {
    for (const bad of ["al ice", "alice\u200b", "ali\tce"]) {
      const r = await p.call("GET", "/api/v1/pipelines", undefined, as(bad));
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.json.message).toContain("whitespace or control characters");
    }
  });
});

describe("finding 4 (AWS): only the authorizer's verified identity counts", () => {
  let p: TestPlatform;
  let lambda: ReturnType<typeof lambdaInvoker>;
  beforeAll(async () => {
    p = await startTestPlatform({ config: { auth: { iamRoles: ["data-scientist", "approver"] } } });
    lambda = lambdaInvoker(p.platform.app, new URL(p.url).host);
    await modelWithVersion(p, "f4-aws");
  });
  afterAll(async () => {
    await p?.close();
  });

  it("ignores x-keel-principal without authorizer context (401)", async () => {
    const r = await lambda("POST", "/api/2.0/mlflow/experiments/create", {
      headers: { "x-keel-principal": "alice" },
      body: { name: "f4-header" },
    });
    expect(r.status).toBe(401);
  });

  it("one person's ID token and access token are one principal: no self-approval", async () => {
    const req = await lambda("POST", "/api/v1/models/f4-aws/versions/1/promotions", {
      authorizer: idToken("sub-alice", "alice@bank.example", "[data-scientist]"),
      body: { stage: "Production" },
    });
    expect(req.status).toBe(201);
    const approve = await lambda("POST", `/api/v1/promotions/${req.json.promotion.id}/approve`, {
      authorizer: accessToken("sub-alice", "[approver]"),
      body: {},
    });
    expect(approve.status).toBe(403);
    expect(approve.json.message).toContain("four-eyes");
  });

  it("an IAM caller is its role whatever its session name, and may not approve", async () => {
    const req = await lambda("POST", "/api/v1/models/f4-aws/versions/1/promotions", {
      authorizer: iamCaller("ml-pipelines", "alice"),
      body: { alias: "champion" },
    });
    expect(req.status).toBe(201);
    expect(req.json.promotion.requester).toBe("arn:aws:iam::123456789012:role/ml-pipelines");
    const approve = await lambda("POST", `/api/v1/promotions/${req.json.promotion.id}/approve`, {
      authorizer: iamCaller("ml-pipelines", "bob"),
      body: {},
    });
    expect(approve.status).toBe(403);
  });
});

describe("finding 4 (keel dev --auth): roles hold against a data scientist", () => {
  let p: TestPlatform;
  const t: Record<string, string> = {};
  beforeAll(async () => {
    p = await startTestPlatform({ auth: "users" });
    t.admin = (await p.platform.access.users.add("admin", ["admin"])).token;
    t.dana = (await p.platform.access.users.add("dana", ["data-scientist"])).token;
    t.abe = (await p.platform.access.users.add("abe", ["approver"])).token;
    await modelWithVersion(
      // fixtures run in laptop style through the admin's token
      { ...p, call: (m, path, body, h = {}) => p.call(m, path, body, { ...h, ...bearer(t.admin) }) },
      "f4-auth",
    );
    // Team scoping: the model's owner (admin) lets dana edit it.
    await p.call(
      "POST",
      "/api/2.0/mlflow/registered-models/permissions/create",
      { name: "f4-auth", username: "dana", permission: "EDIT" },
      bearer(t.admin),
    );
  });
  afterAll(async () => {
    await p?.close();
  });

  it("refuses the data scientist's policy edit, approval and deployment, audited; the four-eyes path works", async () => {
    const dana = bearer(t.dana);
    const policy = await p.call("PUT", "/api/v1/models/f4-auth/policy", { protected_stages: [] }, dana);
    expect(policy.status).toBe(403);
    expect(policy.json.message).toContain("permission 'admin'");
    const req = await p.call(
      "POST",
      "/api/v1/models/f4-auth/versions/1/promotions",
      { stage: "Production" },
      basic("dana", t.dana),
    );
    expect(req.status).toBe(201);
    const id = req.json.promotion.id;
    const self = await p.call("POST", `/api/v1/promotions/${id}/approve`, {}, dana);
    expect(self.status).toBe(403);
    expect(self.json.message).toContain("permission 'approve'");
    const deploy = await p.call(
      "POST",
      "/api/v1/deployments",
      { name: "f4", model: "f4-auth", version: "1" },
      dana,
    );
    expect(deploy.status).toBe(403);
    expect(deploy.json.message).toContain("permission 'deploy'");
    const denied = await p.call(
      "GET",
      "/api/v1/audit?action=access.denied&principal=dana",
      undefined,
      bearer(t.admin),
    );
    expect(denied.json.events.length).toBeGreaterThanOrEqual(3);

    const ok = await p.call(
      "POST",
      `/api/v1/promotions/${id}/approve`,
      { comment: "reviewed" },
      bearer(t.abe),
    );
    expect(ok.status).toBe(200);
    expect(ok.json.promotion).toMatchObject({ status: "APPROVED", requester: "dana", reviewer: "abe" });
  });
});
