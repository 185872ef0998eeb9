import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { keel, stackLines } from "./keel";

/** A loopback URL where nothing listens: a port that was just free. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe("keel against a stopped server or a mistyped --url", () => {
  it.each([
    ["deploy", "status", "x"],
    ["model", "lineage", "m", "1"],
    ["monitor", "drift", "d"],
    ["pipeline", "runs"],
    ["audit", "verify"],
    ["experiments", "list"],
  ])("keel %s %s prints one line saying what to do, no stack", async (...args) => {
    const url = await deadUrl();
    const r = await keel([...args, "--url", url]);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split("\n");
    expect(lines.at(-1)).toBe(
      `keel: cannot reach Keel at ${url}: connection refused. Start it with \`npm start\` or pass --url`,
    );
    expect(lines.filter((l) => l.startsWith("keel:"))).toHaveLength(1);
    expect(stackLines(r.err)).toEqual([]);
    expect(r.err).not.toContain("fetch failed");
  });

  it("uses KEEL_URL when no --url is given", async () => {
    const url = await deadUrl();
    const r = await keel(["pipeline", "runs"], { env: { KEEL_URL: url } });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot reach Keel at ${url}`);
  });

  it("shows the stack with --debug", async () => {
    const url = await deadUrl();
    const r = await keel(["deploy", "status", "--url", url, "--debug"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`keel: cannot reach Keel at ${url}`);
    expect(stackLines(r.err).length).toBeGreaterThan(0);
  });

  it("refuses a --url that is not an http(s) URL, and a flag the command does not take", async () => {
    const bad = await keel(["deploy", "status", "--url", "localhost:5000"]);
    expect(bad.code).toBe(1);
    expect(bad.err.trim()).toBe(
      "keel: --url localhost:5000 is not an http(s) URL. Pass it as e.g. --url http://localhost:5000",
    );
    const usage = await keel(["deploy", "status", "--data-dir", "x"]);
    expect(usage.code).toBe(2);
    expect(usage.err.trim()).toBe(
      "keel: deploy status: --data-dir does not apply to this command. See 'keel deploy status --help'",
    );
  });
});
