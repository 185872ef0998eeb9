import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { keel, stackLines } from "./keel";

// Outside the repository on purpose: no node_modules, no package.json above the files.
const dir = mkdtempSync(join(tmpdir(), "keel-cli-pipeline-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PIPELINE = `import { definePipeline } from "@keel/pipelines";
import { z } from "zod";
import { greeting } from "./helper";

export const outside = definePipeline({
  name: "outside-repo",
  params: z.object({ who: z.string().default("world") }),
  steps: [{ name: "greet", kind: "lambda", handler: async () => ({ text: greeting() }) }],
});
`;

describe("pipeline files from any folder", () => {
  it("compiles a pipeline file outside the repository (with @keel/* and a relative import)", async () => {
    writeFileSync(join(dir, "helper.ts"), `export const greeting = (): string => "hello";\n`);
    writeFileSync(join(dir, "outside.ts"), PIPELINE);
    const r = await keel(["pipeline", "compile", join(dir, "outside.ts")], { cwd: dir });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const asl = JSON.parse(r.out);
    expect(asl.Comment).toContain("outside-repo");
    expect(Object.keys(asl.States)).toContain("greet");
  });

  it("runs it in process over a data dir", async () => {
    writeFileSync(join(dir, "helper.ts"), `export const greeting = (): string => "hello";\n`);
    writeFileSync(join(dir, "run-me.ts"), PIPELINE);
    const r = await keel(["pipeline", "run", join(dir, "run-me.ts"), "--data-dir", join(dir, "data")], {
      cwd: dir,
    });
    expect(r.out).toContain("registered outside-repo");
    expect(r.out).toMatch(/run [0-9a-f]{32} SUCCEEDED/);
    expect(r.code).toBe(0);
  });

  it("shows a syntax error as file, line and a code frame, without a stack", async () => {
    const file = join(dir, "broken.ts");
    writeFileSync(
      file,
      `import { definePipeline } from "@keel/pipelines";
const steps = [
  { name: "a" }
  { name: "b" },
];
export const p = definePipeline({ name: "broken", steps });
`,
    );
    const r = await keel(["pipeline", "compile", file], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    const lines = r.err.trimEnd().split("\n");
    expect(lines[0]).toBe(`keel: ${file}:4:3: Expected "]" but found "{". Fix the file and run again`);
    expect(lines).toContain(`> 4 |   { name: "b" },`);
    expect(lines.some((l) => /^\s+\| {3}\^$/.test(l))).toBe(true);
    expect(lines.length).toBeLessThanOrEqual(8);
    expect(stackLines(r.err)).toEqual([]);

    // Loaded in process (keel dev --pipelines) the same file is a caller's mistake with its
    // location, not an INTERNAL_ERROR; over HTTP no file is ever registered.
    const p = await startTestPlatform();
    try {
      const refused = await p.platform.services.pipelines.registerFile(file).catch((e: unknown) => e);
      expect((refused as { code?: string }).code).toBe("INVALID_PARAMETER_VALUE");
      expect((refused as Error).message).toBe(`${file}:4:3: Expected "]" but found "{"`);
      const res = await p.call("POST", "/api/v1/pipelines", { file });
      expect([400, 404]).toContain(res.status);
    } finally {
      await p.close();
    }
  });
});
