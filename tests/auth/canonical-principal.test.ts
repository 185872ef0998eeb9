import { iamPrincipal } from "@keel/auth";
import { canonicalPrincipal, ROLES, requireHuman, withContext } from "@keel/core";
import { HttpTransport } from "@keel/sdk";
import { describe, expect, it } from "vitest";

describe("canonicalPrincipal", () => {
  it("makes one name of case, width and surrounding space variants", () => {
    for (const v of ["alice", "Alice", " ALICE ", "ａｌｉｃｅ", "\talice\n"])
      expect(canonicalPrincipal(v)).toBe("alice");
    expect(canonicalPrincipal("STRAẞE")).toBe(canonicalPrincipal("strasse"));
    expect(canonicalPrincipal("Ｂob@Bank.Example")).toBe("bob@bank.example");
  });

  it("refuses empty names and whitespace, control or format characters inside", () => {
    for (const bad of ["", "   ", "al ice", "ali\tce", "alice\u200b", "al\u0000ice", "a\u00a0b", "a\u2028b"])
      expect(() => canonicalPrincipal(bad), JSON.stringify(bad)).toThrow(/principal/);
    expect(() => canonicalPrincipal("a".repeat(513))).toThrow(/longer than/);
  });
});

describe("requireHuman", () => {
  const ctx = (kind: "user" | "service" | "local") => ({
    principal: "p",
    requestId: "r",
    roles: ROLES,
    kind,
  });
  it("refuses services and lets people and the laptop user through", () => {
    expect(() => withContext(ctx("service"), () => requireHuman("approve x"))).toThrow(/requires a person/);
    expect(() => withContext(ctx("user"), () => requireHuman("approve x"))).not.toThrow();
    expect(() => withContext(ctx("local"), () => requireHuman("approve x"))).not.toThrow();
  });

  it("maps an assumed-role ARN to its role and keeps other ARNs", () => {
    expect(iamPrincipal("arn:aws:sts::111122223333:assumed-role/Deployer/i-am-alice")).toBe(
      "arn:aws:iam::111122223333:role/Deployer",
    );
    expect(iamPrincipal("arn:aws-us-gov:sts::111122223333:assumed-role/R/s")).toBe(
      "arn:aws-us-gov:iam::111122223333:role/R",
    );
    expect(iamPrincipal("arn:aws:iam::111122223333:user/ci")).toBe("arn:aws:iam::111122223333:user/ci");
  });
});

describe("the CLI's transport", () => {
  it("sends KEEL_TOKEN (else MLFLOW_TRACKING_TOKEN) as the Bearer token unless one is given", async () => {
    const seen: Array<string | null> = [];
    const fetchStub = (async (_url: string, init: RequestInit) => {
      seen.push(new Headers(init.headers).get("authorization"));
      return new Response("{}");
    }) as unknown as typeof fetch;
    const saved = { k: process.env.KEEL_TOKEN, m: process.env.MLFLOW_TRACKING_TOKEN };
    try {
      process.env.MLFLOW_TRACKING_TOKEN = "from-mlflow";
      delete process.env.KEEL_TOKEN;
      await new HttpTransport({ url: "http://x", fetch: fetchStub }).get("/a");
      process.env.KEEL_TOKEN = "from-keel";
      await new HttpTransport({ url: "http://x", fetch: fetchStub }).get("/a");
      await new HttpTransport({ url: "http://x", fetch: fetchStub, token: "given" }).get("/a");
    } finally {
      for (const [k, v] of [
        ["KEEL_TOKEN", saved.k],
        ["MLFLOW_TRACKING_TOKEN", saved.m],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    expect(seen).toEqual(["Bearer from-mlflow", "Bearer from-keel", "Bearer given"]);
  });
});
