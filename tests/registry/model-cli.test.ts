import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { modelCommands } from "../../packages/cli/src/commands/model";
import { startTestPlatform } from "../helpers/platform";
import { createRun, mlflowClient, type TestPlatform } from "./registry-fixtures";

let p: TestPlatform;
let dir: string;

/** Runs `keel model <verb> ...` in process against the test platform and returns what it printed. */
async function keelModel(verb: string, args: string[]): Promise<string> {
  const cmd = modelCommands.find((c) => c.name === `model ${verb}`)!;
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    expect(await cmd.run([...args, "--url", p.url])).toBe(0);
  } finally {
    log.mockRestore();
  }
  return lines.join("\n");
}

beforeAll(async () => {
  p = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), "keel-model-cli-"));
});
afterAll(async () => {
  await p?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("keel model", () => {
  it("sets a policy, promotes with four eyes, and shows lineage and the card", async () => {
    const api = mlflowClient(p);
    const run = await createRun(p, { metrics: { auc: 0.94 } });
    await api.ok("POST", "/registered-models/create", { name: "cli-model" });
    await api.ok("POST", "/model-versions/create", {
      name: "cli-model",
      source: `runs:/${run.runId}/model`,
      run_id: run.runId,
    });

    const policy = await keelModel("policy", ["cli-model", "--check", "auc >= 0.9", "--as", "officer"]);
    expect(JSON.parse(policy).checks).toEqual([{ type: "metric", key: "auc", op: ">=", value: 0.9 }]);

    const promoted = await keelModel("promote", ["cli-model", "1", "--stage", "Production", "--as", "alice"]);
    const id = /promotion ([0-9a-f]{32})/.exec(promoted)?.[1];
    expect(promoted).toContain("PENDING");
    expect(promoted).toContain("✔ auc >= 0.9: auc = 0.94");
    expect(promoted).toContain(`keel model approve ${id}`);

    const approve = modelCommands.find((c) => c.name === "model approve")!;
    await expect(approve.run([id!, "--url", p.url, "--as", "alice"])).rejects.toThrow(/four-eyes/);
    expect(await keelModel("approve", [id!, "--as", "bob", "--comment", "ok"])).toContain("APPROVED");
    expect(
      (await api.ok("GET", "/model-versions/get?name=cli-model&version=1")).model_version.current_stage,
    ).toBe("Production");

    const lineage = await keelModel("lineage", ["cli-model", "1"]);
    expect(lineage).toContain("dataset transactions-2026-10 --input_to--> run ");
    expect(lineage).toContain("--produced--> model_version cli-model v1");

    const out = join(dir, "card.html");
    await keelModel("card", [
      "cli-model",
      "1",
      "--intended-use",
      "Demo scoring",
      "--html",
      "--out",
      out,
      "--as",
      "alice",
    ]);
    const html = await readFile(out, "utf8");
    expect(html).toContain("<p>Demo scoring</p>");
    expect(html).toContain("bob");
  });
});
