import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "@keel/app";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";

const repo = join(import.meta.dirname, "../..");

/** A project is an input: a folder named at start (`keel dev --project`, KEEL_PROJECT_DIR). */
describe("project folders", () => {
  let p: Awaited<ReturnType<typeof startTestPlatform>>;
  beforeAll(async () => {
    // examples/ holds `pipelines/index.ts`: the sample project the stacks deploy by default.
    p = await startTestPlatform({ projectDir: join(repo, "examples") });
  });
  afterAll(async () => {
    await p?.close();
  });

  it("registers the project's pipelines at start", async () => {
    expect(p.project?.pipelines.map((d) => d.name)).toEqual(["train-fraud"]);
    const r = await p.call("GET", "/api/v1/pipelines");
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.json)).toContain("train-fraud");
  });

  it("loads a keel.project.ts with a quickstart (the fraud example, keel dev's default)", async () => {
    const project = await loadProject(join(repo, "examples/fraud-detection"));
    expect(project.quickstart?.title).toMatch(/fraud-detection quickstart/);
    expect(project.pipelines).toEqual([]);
    expect(project.tunings?.map((t) => t.spec.name)).toEqual(["fraud-gbdt"]);
  });

  it("names what it looked for when a folder is not a project", async () => {
    const empty = mkdtempSync(join(tmpdir(), "keel-not-a-project-"));
    try {
      await expect(loadProject(empty)).rejects.toThrow(
        /has none of keel\.project\.ts, .*pipelines\/index\.ts/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
