import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, KEEL_BIN, keel, stackLines, startUntil } from "./keel";

const READY = /Keel is ready at (http:\/\/localhost:(\d+))/;

/** Whether something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Polls until nothing listens on the port any more; false if it still does after `tries`. */
async function freed(port: number, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (!(await listening(port))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe("keel dev holding a data dir and a port", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "keel-cli-dev-"));
  let dev: Awaited<ReturnType<typeof startUntil>>;
  let url: string;
  let port: string;

  beforeAll(async () => {
    dev = await startUntil(
      process.execPath,
      [KEEL_BIN, "dev", "--port", "0", "--data-dir", dataDir, "--no-example"],
      READY,
    );
    [, url, port] = dev.match;
  });
  afterAll(async () => {
    dev?.proc.kill("SIGTERM");
    if (dev) await exited(dev.proc);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a data-dir command names the running server to use instead", async () => {
    const r = await keel(["features", "list", "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(
      `keel: the data dir ${dataDir} is in use by a running keel dev (pid ${dev.proc.pid}). Pass --url ${url} to use that server, or stop it`,
    );
    // ... and that advice works.
    const viaUrl = await keel(["features", "list", "--url", url]);
    expect(viaUrl.code).toBe(0);
    expect(viaUrl.out).toContain("registry version");
  });

  it("a second keel dev on the same data dir exits 1 with one line", async () => {
    const r = await keel(["dev", "--port", "0", "--data-dir", dataDir, "--no-example"]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(
      `keel: the data dir ${dataDir} is in use by a running keel dev (pid ${dev.proc.pid}, ${url}). Use that one, stop it, or pass another --data-dir`,
    );
  });

  it("keel dev on a taken port exits 1 with one line, no stack", async () => {
    const other = mkdtempSync(join(tmpdir(), "keel-cli-dev-other-"));
    try {
      const r = await keel(["dev", "--port", port, "--data-dir", other, "--no-example"]);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `keel: port ${port} on 127.0.0.1 is already in use. Stop what listens there, or pass another --port`,
      );
      expect(stackLines(r.err)).toEqual([]);
      // It released what it had opened: the other data dir can be used right away.
      const list = await keel(["features", "list", "--data-dir", other]);
      expect(list.code).toBe(0);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe("npm start", () => {
  it("frees the port when the npm process gets TERM, and prints no npm config warning", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "keel-cli-npm-"));
    let orphan: number | undefined;
    try {
      const npm = await startUntil(
        "npm",
        ["start", "--", "--port", "0", "--data-dir", dataDir, "--no-example"],
        READY,
      );
      const port = Number(npm.match[2]);
      expect(await listening(port)).toBe(true);
      const { pid } = JSON.parse(readFileSync(join(dataDir, "keel.lock"), "utf8")) as { pid: number };
      orphan = pid;
      npm.proc.kill("SIGTERM");
      await exited(npm.proc);
      expect(await freed(port), npm.output()).toBe(true);
      orphan = undefined;
      expect(npm.output()).not.toMatch(/npm warn Unknown/i);
    } finally {
      if (orphan) process.kill(orphan, "SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
