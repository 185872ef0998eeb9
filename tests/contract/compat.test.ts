import { breakingChanges, checkCompatibility } from "@keel/contract";
import { describe, expect, it } from "vitest";

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  properties,
  required,
});
const str = { type: "string" };
const num = { type: "number" };

/** A one-route document: POST /things with a JSON body and a JSON answer. */
function doc(opts: {
  version?: string;
  body?: unknown;
  response?: unknown;
  query?: unknown[];
  path?: string;
}) {
  return {
    openapi: "3.1.0",
    info: { title: "t", version: opts.version ?? "1.0.0" },
    paths: {
      [opts.path ?? "/things"]: {
        post: {
          parameters: opts.query ?? [],
          requestBody: {
            content: { "application/json": { schema: opts.body ?? obj({ name: str }, ["name"]) } },
          },
          responses: {
            "200": {
              description: "ok",
              content: { "application/json": { schema: opts.response ?? obj({ id: str, size: num }) } },
            },
          },
        },
      },
    },
  };
}

describe("the contract's backward-compatibility check", () => {
  const before = doc({});

  it("accepts the same document, an optional new field and a new response field", () => {
    expect(breakingChanges(before, before)).toEqual([]);
    const after = doc({
      body: obj({ name: str, colour: str }, ["name"]),
      response: obj({ id: str, size: num, extra: str }),
    });
    expect(checkCompatibility(before, after)).toEqual({ ok: true, breaking: [] });
  });

  it("refuses a removed route", () => {
    const r = checkCompatibility(before, doc({ path: "/other" }));
    expect(r.ok).toBe(false);
    expect(r.breaking).toContain("POST /things: route removed");
  });

  it("refuses a new required request field, in the body or the query", () => {
    expect(breakingChanges(before, doc({ body: obj({ name: str, owner: str }, ["name", "owner"]) }))).toEqual(
      ["POST /things request: new required field 'owner'"],
    );
    const q = [{ name: "team", in: "query", required: true, schema: str }];
    expect(breakingChanges(before, doc({ query: q }))).toEqual([
      "POST /things: new required query parameter 'team'",
    ]);
  });

  it("refuses a removed response field", () => {
    expect(breakingChanges(before, doc({ response: obj({ id: str }) }))).toEqual([
      "POST /things response: field 'size' removed",
    ]);
  });

  it("refuses a field whose type changed, in a request or a response", () => {
    expect(breakingChanges(before, doc({ response: obj({ id: num, size: num }) }))).toEqual([
      'POST /things response.id: type changed from ["string"] to ["number"]',
    ]);
    expect(breakingChanges(before, doc({ body: obj({ name: num }, ["name"]) }))).toEqual([
      'POST /things request.name: type changed from ["string"] to ["number"]',
    ]);
  });

  it("follows $refs into components", () => {
    const withRef = doc({ response: { $ref: "#/components/schemas/Thing" } }) as Record<string, unknown>;
    withRef.components = { schemas: { Thing: obj({ id: str }) } };
    expect(breakingChanges(before, withRef)).toEqual(["POST /things response: field 'size' removed"]);
  });

  it("accepts a breaking change once the major version is bumped", () => {
    const after = doc({ version: "2.0.0", path: "/other" });
    const r = checkCompatibility(before, after);
    expect(r.ok).toBe(true);
    expect(r.breaking).toEqual(["POST /things: route removed"]);
    expect(checkCompatibility(before, doc({ version: "1.1.0", path: "/other" })).ok).toBe(false);
  });
});
