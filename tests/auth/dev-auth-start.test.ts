import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const bin = join(import.meta.dirname, "../../packages/cli/bin/keel.mjs");
const dataDir = mkdtempSync(join(tmpdir(), "keel-dev-auth-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Starts `keel dev` and resolves once its start-up banner (through the auth lines) is printed. */
function startDev(args: string[]): Promise<{ proc: ChildProcess; url: string; out: string }> {
  const proc = spawn(process.execPath, [bin, "dev", "--port", "0", "--data-dir", dataDir, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keel dev did not start:\n${out}`)), 60_000);
    const check = () => {
      const url = out.match(/Keel is ready at (http:\/\/localhost:\d+)/)?.[1];
      const done = /the quickstart example does not run|start with --auth for users/.test(out);
      if (url && done && (!/first start with --auth/.test(out) || /\n\s+kt_\S+/.test(out))) {
        clearTimeout(timer);
        resolve({ proc, url, out });
      }
    };
    proc.stdout?.on("data", (d) => {
      out += d;
      check();
    });
    proc.stderr?.on("data", (d) => {
      out += d;
    });
    proc.on("exit", (code) => reject(new Error(`keel dev exited with ${code}:\n${out}`)));
  });
}

function stop(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    proc.once("exit", (code) => resolve(code));
    proc.kill("SIGTERM");
  });
}

describe("keel dev --auth", () => {
  it("says laptop mode by default; with --auth creates 'admin' once and prints its token", async () => {
    const laptop = await startDev(["--no-example"]);
    expect(laptop.out).toContain("single-user laptop mode");
    expect(await stop(laptop.proc)).toBe(0);

    const first = await startDev(["--auth"]);
    const token = first.out.match(/\n\s+(kt_\S+)/)?.[1];
    expect(token, first.out).toBeDefined();
    const search = `${first.url}/api/2.0/mlflow/experiments/search?max_results=1`;
    expect((await fetch(search)).status).toBe(401);
    expect((await fetch(search, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`admin:${token}`).toString("base64")}`;
    expect((await fetch(search, { headers: { authorization: basic } })).status).toBe(200);
    expect(await stop(first.proc)).toBe(0);

    const second = await startDev(["--auth"]);
    expect(second.out).not.toContain("first start with --auth");
    expect(
      (await fetch(search.replace(first.url, second.url), { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(200);
    expect(await stop(second.proc)).toBe(0);
    // Three starts of keel dev (tsx, no build): generous under a loaded machine.
  }, 240_000);
});
