import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { bearer } from "./fixtures";

const dataDir = mkdtempSync(join(tmpdir(), "keel-users-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The `keel` bin as a user runs it; asynchronous, so a server in this process keeps answering. */
function keel(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["packages/cli/bin/keel.mjs", ...args],
      { env: { ...process.env, KEEL_LOG_LEVEL: "error", KEEL_TOKEN: "" }, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}
const lastLine = (out: string) => out.trim().split("\n").at(-1) ?? "";

describe("keel users", () => {
  it("adds users under --data-dir before the server starts, then manages them over --url with an admin token", async () => {
    const added = await keel("users", "add", "Root", "--roles", "admin", "--data-dir", dataDir);
    expect(added.code, added.err).toBe(0);
    const rootToken = lastLine(added.out);
    expect(rootToken).toMatch(/^kt_/);
    const bad = await keel("users", "add", "x", "--roles", "wizard", "--data-dir", dataDir);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("unknown role");

    const p = await startTestPlatform({ dataDir, auth: "users" });
    try {
      const search = "/api/2.0/mlflow/experiments/search?max_results=1";
      expect((await p.call("GET", search, undefined, bearer(rootToken))).status).toBe(200);
      const url = p.url;
      const noToken = await keel("users", "list", "--url", url);
      expect(noToken.code).not.toBe(0);
      const dana = await keel(
        "users",
        "add",
        "dana",
        "--roles",
        "data-scientist,viewer",
        "--url",
        url,
        "--token",
        rootToken,
      );
      expect(dana.code, dana.err).toBe(0);
      const danaToken = lastLine(dana.out);
      expect((await p.call("GET", search, undefined, bearer(danaToken))).status).toBe(200);
      // A data scientist's token cannot manage users.
      const byDana = await keel("users", "list", "--url", url, "--token", danaToken);
      expect(byDana.code).not.toBe(0);
      expect(byDana.err).toContain("PERMISSION_DENIED");
      const list = await keel("users", "list", "--url", url, "--token", rootToken);
      expect(list.out).toMatch(/dana\s+data-scientist,viewer/);
      expect(list.out).toMatch(/root\s+admin/);

      const rotated = await keel("users", "rotate", "dana", "--url", url, "--token", rootToken);
      const newToken = lastLine(rotated.out);
      expect((await p.call("GET", search, undefined, bearer(danaToken))).status).toBe(401);
      expect((await p.call("GET", search, undefined, bearer(newToken))).status).toBe(200);
      expect((await keel("users", "remove", "dana", "--url", url, "--token", rootToken)).code).toBe(0);
      expect((await p.call("GET", search, undefined, bearer(newToken))).status).toBe(401);
    } finally {
      await p.close();
    }
    // Nine CLI starts (tsx, no build): generous under a loaded machine.
  }, 300_000);
});
