import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

// Inside the project (under the git-ignored .tmp/) so pipeline files resolve @keel/* and ESM like a project's own.
mkdirSync(".tmp", { recursive: true });
const dir = mkdtempSync(join(process.cwd(), ".tmp", "cli-pipelines-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `keel` bin as a user runs it (tsx loader, no build), with nothing listening on --url. */
function keel(...args: string[]) {
  const r = spawnSync(process.execPath, ["packages/cli/bin/keel.mjs", ...args], {
    encoding: "utf8",
    env: {
      ...process.env,
      KEEL_LOG_LEVEL: "error",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same, without blocking this process (which serves the platform the command talks to). */
function keelAsync(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const proc = spawn(process.execPath, ["packages/cli/bin/keel.mjs", ...args], {
      env: {
        ...process.env,
        KEEL_LOG_LEVEL: "error",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d) => {
      out += d;
    });
    proc.stderr.on("data", (d) => {
      err += d;
    });
    proc.on("exit", (code) => done({ code, out, err }));
  });
}

describe("keel pipeline (the CLI)", () => {
  it("compiles a pipeline file to ASL", () => {
    const r = keel("pipeline", "compile", "examples/pipelines/training.ts");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).StartAt).toBe("keel.validate");
  });

  it("names the cycle when a pipeline file does not compile", () => {
    const file = join(dir, "cyclic.ts");
    writeFileSync(
      file,
      `import { definePipeline } from "@keel/pipelines";
import { z } from "zod";
const h = () => ({});
export const p = definePipeline({ name: "cyclic", params: z.object({}), steps: [
  { name: "a", kind: "lambda", dependsOn: ["b"], handler: h },
  { name: "b", kind: "lambda", dependsOn: ["a"], handler: h },
] });
`,
    );
    const r = keel("pipeline", "compile", file);
    expect(r.code).toBe(1);
    expect(r.err).toContain("dependency cycle: a -> b -> a");
  });

  it("runs a pipeline file in process when no server answers, showing each step's progress", () => {
    const r = keel(
      "pipeline",
      "run",
      "examples/pipelines/training.ts",
      "--param",
      "rows=20",
      "--url",
      "http://127.0.0.1:9",
      "--data-dir",
      join(dir, "data"),
    );
    expect(r.err).toContain("no Keel server at http://127.0.0.1:9; running in process");
    expect(r.out).toContain("registered train-fraud");
    expect(r.out).toMatch(/✔ train\s+SUCCEEDED/);
    expect(r.out).toMatch(/– report\s+SKIPPED/);
    expect(r.out).toMatch(/run [0-9a-f]{32} SUCCEEDED/);
    expect(r.code).toBe(0);
  });
});

describe("keel pipeline run against a running server", () => {
  it("runs a file's pipelines the server loaded at start, and never has the server import a path", async () => {
    const p = await startTestPlatform({ pipelineFiles: [resolve("examples/pipelines/training.ts")] });
    try {
      const other = join(dir, "other.ts");
      writeFileSync(
        other,
        `import { definePipeline } from "@keel/pipelines";
import { z } from "zod";
export const p = definePipeline({ name: "other", params: z.object({}), steps: [
  { name: "a", kind: "lambda", handler: () => ({}) },
] });
`,
      );
      const refused = await keelAsync("pipeline", "run", other, "--url", p.url);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain(`has not loaded other from ${other}`);
      expect(refused.err).toContain("keel dev --pipelines");
      expect(
        (await p.call("GET", "/api/v1/pipelines")).json.pipelines.map((x: { name: string }) => x.name),
      ).toEqual(["train-fraud"]);

      const ran = await keelAsync(
        "pipeline",
        "run",
        "examples/pipelines/training.ts",
        "--param",
        "rows=20",
        "--url",
        p.url,
      );
      expect(ran.err).not.toContain("running in process");
      expect(ran.out).toMatch(/run [0-9a-f]{32} SUCCEEDED/);
      expect(ran.code).toBe(0);
    } finally {
      await p.close();
    }
  }, 180_000);
});
