import { readFileSync } from "node:fs";
import { CONSOLE_PAGE_PREFIXES, consolePublicRouteKeys, isReserved } from "@keel/console";
import { routesById } from "@keel/contract";
import { describe, expect, it } from "vitest";

const routesFile = readFileSync("packages/console/web/src/routes.ts", "utf8");
const patterns = [...routesFile.matchAll(/\["(\/[^"]*)",/g)].map((m) => m[1]);

describe("the console's public paths (AWS routes them past the JWT authorizer)", () => {
  it("cover every page of the SPA's router table", () => {
    expect(patterns.length).toBeGreaterThan(15);
    for (const p of patterns) expect(CONSOLE_PAGE_PREFIXES, p).toContain(p.split("/")[1]);
  });

  it("open no API path but the sign-in settings", () => {
    const keys = consolePublicRouteKeys();
    const api = keys.filter((k) => isReserved(k.slice(4).replace(/\{proxy\+\}$/, "x")));
    expect(api).toEqual(["GET /api/v1/console/config"]);
  });

  it("prefetch the runs table at the contract's search route", () => {
    const route = routesById["tracking.searchRuns"];
    expect(route.method).toBe("GET");
    // Read as text: the console's sources are type-checked for the browser, not for Node.
    const source = readFileSync("packages/console/web/src/runs-query.ts", "utf8");
    expect(source).toContain(`RUNS_SEARCH_PATH = "${route.path}"`);
  });
});
