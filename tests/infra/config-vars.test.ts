import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_VAR_NAMES, ENV, loadConfig } from "@keel/core";
import { describe, expect, it } from "vitest";

/**
 * Every variable a stack puts in a function's environment must be one `loadConfig` reads.
 * Read statically (synthesizing every stack takes minutes here): a function environment key is
 * either `[ENV.NAME]` (core's names, which env.ts re-exports) or a literal `KEEL_*` key.
 */
const stacksDir = join(import.meta.dirname, "../../stacks");
const sources = readdirSync(stacksDir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => ({ file: f, code: readFileSync(join(stacksDir, f), "utf8") }));

function variablesSetByStacks(): Array<{ file: string; name: string }> {
  const found: Array<{ file: string; name: string }> = [];
  for (const { file, code } of sources) {
    for (const m of code.matchAll(/\[ENV\.([A-Z_]+)\]\s*:/g)) {
      const name = (ENV as Record<string, string>)[m[1]];
      found.push({ file, name: name ?? `ENV.${m[1]} (not in @keel/core ENV)` });
    }
    // Literal keys in an object (`KEEL_X: ...` or `"KEEL_X": ...`).
    for (const m of code.matchAll(/["']?\b(KEEL_[A-Z0-9_]+)["']?\s*:/g)) found.push({ file, name: m[1] });
  }
  return found;
}

describe("configuration variables", () => {
  it("the stacks set only variables that loadConfig reads", () => {
    const set = variablesSetByStacks();
    expect(set.length).toBeGreaterThan(10);
    const unread = set.filter((v) => !CONFIG_VAR_NAMES.has(v.name));
    expect(unread).toEqual([]);
  });

  it("the five variables the stacks set for CQL, Glue, Athena and the prediction log are read into config", () => {
    const c = loadConfig({
      KEEL_CQL_PORT: "9142",
      KEEL_CQL_FLAVOR: "keyspaces",
      KEEL_GLUE_DATABASE: "keel_prod",
      KEEL_ATHENA_WORKGROUP: "keel-prod",
      KEEL_PREDICTION_LOG_ROOT: "s3://bucket/artifacts/predictions/",
    });
    expect(c.features.cql).toMatchObject({ port: 9142, flavor: "keyspaces" });
    expect(c.offline).toMatchObject({ glueDatabase: "keel_prod", athenaWorkgroup: "keel-prod" });
    expect(c.monitoring.predictionLogRoot).toBe("s3://bucket/artifacts/predictions/");
  });

  it("the README's configuration table lists exactly the variables loadConfig reads", () => {
    const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Development"));
    const listed = new Set([...section.matchAll(/^\|[^|]*\|\s*`([A-Z_]+)`/gm)].map((m) => m[1]));
    expect([...listed].sort()).toEqual([...CONFIG_VAR_NAMES].sort());
  });

  it("names the variable at fault", () => {
    expect(() => loadConfig({ KEEL_CQL_FLAVOR: "mongo" })).toThrow(/KEEL_CQL_FLAVOR/);
    expect(() => loadConfig({ KEEL_SERVING_MAX_BODY_BYTES: "-1" })).toThrow(/KEEL_SERVING_MAX_BODY_BYTES/);
  });

  it("would catch a stack setting a variable nobody reads", () => {
    expect(CONFIG_VAR_NAMES.has("KEEL_NOT_READ")).toBe(false);
    const code = 'environment: { KEEL_NOT_READ: "x" }';
    expect([...code.matchAll(/["']?\b(KEEL_[A-Z0-9_]+)["']?\s*:/g)].map((m) => m[1])).toEqual([
      "KEEL_NOT_READ",
    ]);
  });
});
