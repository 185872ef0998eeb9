import { iamPrincipal } from "@keel/auth";
import { canonicalPrincipal, ROLES, requireHuman, withContext } from "@keel/core";
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
