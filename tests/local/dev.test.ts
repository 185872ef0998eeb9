import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const bin = join(import.meta.dirname, "../../packages/cli/bin/keel.mjs");

/** Starts `keel dev` as a user would and resolves with its URL once it prints the ready line. */
function startDev(dataDir: string): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  const proc = spawn(process.execPath, [bin, "dev", "--port", "0", "--data-dir", dataDir, "--no-example"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keel dev did not become ready:\n${out}`)), 60_000);
    proc.stdout?.on("data", (d) => {
      out += d;
      const m = out.match(/Keel is ready at (http:\/\/localhost:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], output: () => out });
      }
    });
    proc.stderr?.on("data", (d) => {
      out += d;
    });
    proc.on("exit", (code) => reject(new Error(`keel dev exited with ${code}:\n${out}`)));
  });
}

function stop(proc: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    proc.once("exit", (code) => resolve(code));
    proc.kill(signal);
  });
}

describe("keel dev", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-dev-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("serves, stops cleanly on SIGTERM and SIGINT, and a second start sees earlier data", async () => {
    const first = await startDev(dataDir);
    const health = await fetch(`${first.url}/api/v1/health`);
    expect(health.status).toBe(200);
    const created = await fetch(`${first.url}/api/2.0/mlflow/experiments/create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "persisted-experiment" }),
    });
    expect(created.status).toBe(200);
    const { experiment_id } = (await created.json()) as { experiment_id: string };
    expect(await stop(first.proc, "SIGTERM")).toBe(0);
    expect(first.output()).toContain("Keel stopped");

    const second = await startDev(dataDir);
    const got = await fetch(
      `${second.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=persisted-experiment`,
    );
    expect(got.status).toBe(200);
    expect(((await got.json()) as { experiment: { experiment_id: string } }).experiment.experiment_id).toBe(
      experiment_id,
    );
    expect(await stop(second.proc, "SIGINT")).toBe(0);
  });

  it("rejects a bad port with a usage error", async () => {
    const proc = spawn(process.execPath, [bin, "dev", "--port", "99999"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    proc.stderr?.on("data", (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((r) => proc.on("exit", r));
    expect(code).not.toBe(0);
    expect(err).toMatch(/--port must be 0\.\.65535/);
  });
});
