import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, KEEL_BIN, keel, startUntil } from "../cli/keel";

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

describe("keel tune against a running keel dev", () => {
  let dev: Awaited<ReturnType<typeof startUntil>>;
  let url = "";

  beforeAll(async () => {
    // keel dev loads tuning files at start as it loads pipeline files (--tunings, or the project's exports).
    dev = await startUntil(
      process.execPath,
      [KEEL_BIN, "dev", "--port", "0", "--data-dir", join(dir, "served"), "--no-example", "--tunings", FILE],
      /Keel is ready at (http:\/\/localhost:(\d+))/,
    );
    url = dev.match[1];
  });
  afterAll(async () => {
    dev?.proc.kill("SIGTERM");
    if (dev) await exited(dev.proc);
  });

  it("runs a tuning the server loaded, over the API, and shows its trials", async () => {
    const run = await keel(["tune", "run", FILE, "--url", url]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toContain(`tuning branin-cli started on ${url}`);
    expect(run.out).toMatch(/8 trials: 8 completed/);

    const show = await keel(["tune", "show", "branin-cli", "--url", url, "--json"]);
    expect(show.code).toBe(0);
    const got = JSON.parse(show.out);
    expect(got.experiment.status).toBe("SUCCEEDED");
    expect(got.trials).toHaveLength(8);
    expect(got.trials.every((t: { status: string }) => t.status === "COMPLETED")).toBe(true);

    // By name it goes to the server too, which refuses a second experiment of that name.
    const again = await keel(["tune", "run", "branin-cli", "--url", url]);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/already exists/);
  });
});
