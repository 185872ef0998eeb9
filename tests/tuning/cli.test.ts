import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keel } from "../cli/keel";

const FILE = join(import.meta.dirname, "fixtures/branin.tuning.ts");
let dir = "";
// No server answers there, so the commands open the data dir in process.
const env = { KEEL_URL: "http://127.0.0.1:9" };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "keel-tune-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("keel tune", () => {
  it("runs a tuning file in process with a table of trials, then shows it; resume of a finished one is refused", async () => {
    const run = await keel(["tune", "run", FILE, "--data-dir", join(dir, "data")], { env });
    expect(run.err).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.out).toContain("tuning branin-cli started");
    expect(run.out).toMatch(/trial\s+status\s+value\s+step\s+tries\s+params/);
    expect(run.out).toMatch(/8 trials: 8 completed/);
    expect(run.out).toMatch(/best params: \{"x1":/);

    const show = await keel(["tune", "show", "branin-cli", "--data-dir", join(dir, "data"), "--json"], {
      env,
    });
    expect(show.code).toBe(0);
    const got = JSON.parse(show.out);
    expect(got.experiment.status).toBe("SUCCEEDED");
    expect(got.trials).toHaveLength(8);
    expect(got.experiment.best.value).toBe(Math.min(...got.trials.map((t: { value: number }) => t.value)));

    const resume = await keel(["tune", "resume", FILE, "--data-dir", join(dir, "data")], { env });
    expect(resume.code).not.toBe(0);
    expect(resume.err).toMatch(/has finished/);
  });

  it("names a missing file plainly", async () => {
    const r = await keel(["tune", "run", "nope.tuning.ts", "--data-dir", join(dir, "data")], { env });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/no such file: nope.tuning.ts/);
  });
});
