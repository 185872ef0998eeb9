import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createDriverRepo } from "./helpers/driver-repo";
import { readParquetRows, rowsToParquetFile } from "./helpers/parquet";

const run = promisify(execFile);
const KEEL = resolve(import.meta.dirname, "../../packages/cli/bin/keel.mjs");
const keel = async (...args: string[]) => {
  try {
    const r = await run(process.execPath, [KEEL, ...args], {
      env: { ...process.env, KEEL_LOG_LEVEL: "silent" },
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
};

/** The quickstart as a new user runs it: apply a repo, build a training set, materialize. */
describe("keel features (CLI)", () => {
  const now = Date.now();
  const repo = createDriverRepo(now);
  const work = mkdtempSync(join(tmpdir(), "keel-cli-features-"));
  const dataDir = join(work, "data");
  afterAll(() => {
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it("applies a definitions directory into a data dir, showing the diff", async () => {
    const r = await keel("features", "apply", repo.dir, "--data-dir", dataDir);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("+ feature_view driver_hourly_stats");
    expect(r.out).toContain("registered version 1 (8 change(s))");
  });

  it("builds a point-in-time training set from the registered definitions", async () => {
    const entities = join(work, "entities.parquet");
    rowsToParquetFile(
      entities,
      [
        { name: "driver_id", type: "INT64" },
        { name: "event_timestamp", type: "TIMESTAMP" },
        { name: "label", type: "INT32" },
      ],
      [
        { driver_id: 1001, event_timestamp: repo.hour(2.5), label: 1 },
        { driver_id: 1001, event_timestamp: repo.hour(0), label: 0 },
      ],
    );
    const out = join(work, "training.parquet");
    const r = await keel(
      "features",
      "historical",
      "--entities",
      entities,
      "--features",
      "driver_hourly_stats:conv_rate,driver_hourly_stats:avg_daily_trips",
      "--out",
      out,
      "--data-dir",
      dataDir,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("wrote 2 rows x 5 columns");
    expect((await readParquetRows(out))?.map((x) => [x.label, x.conv_rate, x.avg_daily_trips])).toEqual([
      [1, 0.1, 10],
      [0, 0.25, 25],
    ]);
    const bad = await keel(
      "features",
      "historical",
      "--entities",
      entities,
      "--features",
      "nope:x",
      "--out",
      out,
      "--repo",
      repo.dir,
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("unknown feature view 'nope'");
  });

  it("materializes with progress, then lists what is registered", async () => {
    const r = await keel("features", "materialize", "--data-dir", dataDir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/driver_hourly_stats: 3 entities read, 2 written, 1 skipped/);
    expect(r.err).toMatch(/materializing in full/);
    const list = await keel("features", "list", "--data-dir", dataDir);
    expect(list.out).toMatch(
      /feature_view\s+driver_hourly_stats\s+3 features, ttl 86400s, online, owner risk-ml@bank.example/,
    );
  });
});
