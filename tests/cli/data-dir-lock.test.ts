import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataDirInUseError, lockDataDir } from "@keel/local";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "keel-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the data dir lock", () => {
  it("refuses a second holder while the first lives, naming its pid and URL, and frees on release", () => {
    const first = lockDataDir(dir);
    first.setUrl("http://localhost:5123");
    let refused: unknown;
    try {
      lockDataDir(dir);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect(refused).toMatchObject({ pid: process.pid, url: "http://localhost:5123", dataDir: dir });
    first.release();
    expect(existsSync(join(dir, "keel.lock"))).toBe(false);
    lockDataDir(dir).release();
  });

  it("takes over a lock whose process is gone", () => {
    const gone = spawnSync(process.execPath, ["-e", "process.pid"]).pid as number;
    writeFileSync(join(dir, "keel.lock"), JSON.stringify({ pid: gone, url: "http://localhost:1" }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, "keel.lock"), "utf8")).pid).toBe(process.pid);
    lock.release();
  });
});
