/**
 * Starts a real Cassandra node (scripts/cql/start-cql.sh) for the CQL online-store suite and
 * exports its contact point in KEEL_TEST_CQL_CONTACT_POINT; stops it at teardown if this setup
 * started it. The node costs ~10 s and ~850 MB, so it starts only when the run includes a CQL
 * suite: a full run, a filter matching one of CQL_SUITES, or KEEL_TEST_CQL=1. Without Java
 * the run fails with what to install; nothing is skipped silently.
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
export const CQL_ENV = "KEEL_TEST_CQL_CONTACT_POINT";
const CQL_SUITES = ["tests/conformance/online-store.cql.test.ts", "tests/validation/consistency.cql.test.ts"];
const PORT = process.env.KEEL_TEST_CQL_PORT ?? "19042";

function runIncludesCql(): boolean {
  if (process.env.KEEL_TEST_CQL === "1") return true;
  // vitest's file filters are path fragments; option values (`--reporter verbose`, `--maxWorkers 1`)
  // also land in argv, so only words that look like paths count as filters.
  const filters = process.argv
    .slice(2)
    .filter((a) => !a.startsWith("-") && /[/.]/.test(a))
    .map((a) => a.replace(/^\.\//, ""));
  return filters.length === 0 || CQL_SUITES.some((s) => filters.some((f) => s.includes(f)));
}

export default async function cassandraSetup(
  _project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  if (process.env[CQL_ENV] || !runIncludesCql()) return undefined;
  try {
    await run("java", ["-version"]);
  } catch {
    throw new Error(
      "The CQL online-store suite needs Java 17 to run a real Cassandra node: apt-get install -y openjdk-17-jre-headless",
    );
  }
  const env = { ...process.env, CQL_DIR: join(ROOT, ".cql-node"), CQL_PORT: PORT, CQL_FRESH: "1" };
  const script = join(ROOT, "scripts/cql/start-cql.sh");
  let out: string;
  try {
    ({ stdout: out } = await run(script, [], { env, timeout: 900_000 }));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `could not start Cassandra for the CQL suite: ${err.stderr || err.stdout || err.message}`,
    );
  }
  process.env[CQL_ENV] = `127.0.0.1:${PORT}`;
  const startedHere = !out.startsWith("already running");
  return async () => {
    if (startedHere) await run(join(ROOT, "scripts/cql/stop-cql.sh"), [], { env });
  };
}
