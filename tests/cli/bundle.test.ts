import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain JS module of the bin (no types)
import { buildBundle, currentBundle } from "../../packages/cli/bin/bundle.mjs";
import { keel, REPO_ROOT } from "./keel";

const dataDir = mkdtempSync(join(tmpdir(), "keel-bundle-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Prints, on exit, which way the bin ran the CLI (it sets KEEL_CLI_RUNTIME). */
const reporter = join(dataDir, "report-runtime.mjs");
writeFileSync(
  reporter,
  'process.on("exit", () => process.stderr.write("runtime=" + process.env.KEEL_CLI_RUNTIME + "\\n"));\n',
);
const REPORT_RUNTIME = `--import=${reporter}`;
const runtimeOf = (err: string) => /runtime=(\w+)/.exec(err)?.[1];

beforeAll(async () => {
  // npm test's pretest builds it; rebuild only if stale (a rebuild swaps dist/ under other tests).
  if (!currentBundle()) await buildBundle();
}, 120_000);

describe("the prebuilt CLI bundle", () => {
  it("runs audit and users commands from the bundle with the same results as through tsx", async () => {
    const env = { NODE_OPTIONS: REPORT_RUNTIME };
    const added = await keel(["users", "add", "Root", "--roles", "admin", "--data-dir", dataDir], { env });
    expect(added.code, added.err).toBe(0);
    expect(runtimeOf(added.err)).toBe("bundle");
    expect(added.out.trim().split("\n").at(-1)).toMatch(/^kt_/);

    const bundled = await keel(["audit", "verify", "--data-dir", dataDir], { env });
    const tsx = await keel(["audit", "verify", "--data-dir", dataDir], {
      env: { ...env, KEEL_CLI_BUNDLE: "0" },
    });
    expect(runtimeOf(bundled.err)).toBe("bundle");
    expect(runtimeOf(tsx.err)).toBe("tsx");
    expect(bundled.code, bundled.err).toBe(0);
    expect(bundled.out).toMatch(/^ok \d+ events/);
    expect(bundled.out).toBe(tsx.out);

    const help = await keel(["--help"], { env });
    expect(runtimeOf(help.err)).toBe("bundle");
    expect(help.out).toContain("keel audit verify");
    expect(help.out).toBe((await keel(["--help"], { env: { KEEL_CLI_BUNDLE: "0" } })).out);
  }, 180_000);

  it("commands that may load a user's TypeScript run through tsx", async () => {
    const r = await keel(["pipeline", "--help"], { env: { NODE_OPTIONS: REPORT_RUNTIME } });
    expect(runtimeOf(r.err)).toBe("tsx");
  }, 120_000);

  it("is not used once a source file it was built from changes (falls back to tsx)", () => {
    expect(currentBundle()).toMatch(/^file:.*\/packages\/cli\/dist\/main\.mjs$/);
    const source = join(REPO_ROOT, "packages/audit/src/chain.ts");
    const { atimeMs, mtimeMs } = statSync(source);
    try {
      utimesSync(source, atimeMs / 1000, (mtimeMs + 1000) / 1000);
      expect(currentBundle()).toBeUndefined();
    } finally {
      utimesSync(source, atimeMs / 1000, mtimeMs / 1000);
    }
    expect(currentBundle()).toBeDefined();
  });
});
