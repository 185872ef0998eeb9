/**
 * Pipeline figures:
 *   - compile time of a 200-step DAG (random, seeded: up to 3 dependencies on earlier steps),
 *     without and with the asl-validator check;
 *   - per-step overhead of the in-process runner: a chain of no-op lambda steps run by the
 *     ASL emulator with the step runtime, without recording (executor only) and with the full
 *     service (dynalite run history, cache lookups, logs);
 *   - a 20-step pipeline end to end through the service (start -> recorded SUCCEEDED).
 * Run: node --import tsx bench/pipelines.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@keel/artifacts";
import { StoreAuditLog } from "@keel/audit";
import { createLogger, systemClock } from "@keel/core";
import { DynamoDbMetadataStore, startDynalite } from "@keel/metadata";
import {
  compilePipeline,
  definePipeline,
  type ExecutionEvent,
  LocalPipelineExecutor,
  type PipelineDefinition,
  PipelineService,
  type StepInput,
  StepRuntime,
} from "@keel/pipelines";
import { z } from "zod";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function seeded(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function dag(n: number): PipelineDefinition {
  const rnd = seeded(42);
  const steps: StepInput[] = Array.from({ length: n }, (_, i) => {
    const deps = new Set<string>();
    for (let k = 0; k < 3 && i > 0; k++) if (rnd() < 0.6) deps.add(`s${Math.floor(rnd() * i)}`);
    return { name: `s${i}`, kind: "lambda", dependsOn: [...deps], handler: () => ({ i }) };
  });
  return definePipeline({ name: `dag${n}`, params: z.object({}), steps });
}

function chain(n: number, name = `chain${n}`): PipelineDefinition {
  const steps: StepInput[] = Array.from({ length: n }, (_, i) => ({
    name: `s${i}`,
    kind: "lambda",
    dependsOn: i ? [`s${i - 1}`] : [],
    cache: false,
    handler: () => ({ i }),
  }));
  return definePipeline({ name, params: z.object({}), steps });
}

async function compileFigures() {
  const def = dag(200);
  const fast: number[] = [];
  const full: number[] = [];
  let states = 0;
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    const c = compilePipeline(def, { validate: false });
    fast.push(performance.now() - t);
    states = JSON.stringify(c.definition).length;
    t = performance.now();
    compilePipeline(def);
    full.push(performance.now() - t);
  }
  const levels = compilePipeline(def, { validate: false }).levels.length;
  console.log(
    `compile 200-step DAG (${levels} levels, ${(states / 1024).toFixed(0)} KiB of ASL): ${median(fast).toFixed(1)} ms; with asl-validator: ${median(full).toFixed(0)} ms (median of 7)`,
  );
}

async function executorOverhead(root: string) {
  const artifacts = new FsArtifactStore(join(root, "exec"));
  const results: string[] = [];
  for (const n of [1, 50]) {
    const def = chain(n);
    const compiled = compilePipeline(def, { validate: false });
    const runtime = new StepRuntime({ def, compiled, artifacts });
    const executor = new LocalPipelineExecutor({
      resolve: () => ({ definition: compiled.definition, invokeTask: (s, i) => runtime.invoke(s, i) }),
    });
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      const { executionId } = await executor.start({ pipeline: def.name, name: `r${r}`, input: {} });
      let done = false;
      for (let after = 0; !done; ) {
        const evs: ExecutionEvent[] = await executor.history(executionId, { after, waitMs: 1000 });
        after = evs.at(-1)?.seq ?? after;
        done = evs.some((e) => e.type === "ExecutionSucceeded" || e.type === "ExecutionFailed");
      }
      times.push(performance.now() - t);
    }
    results.push(`${n} steps: ${median(times).toFixed(1)} ms`);
    if (n === 50) {
      const base = Number(results[0].split(": ")[1].replace(" ms", ""));
      console.log(
        `runner (executor + step runtime, no recording): ${results.join(", ")} -> ${((median(times) - base) / 49).toFixed(2)} ms per step`,
      );
    }
  }
}

async function serviceFigures(root: string) {
  const dynalite = await startDynalite();
  const store = new DynamoDbMetadataStore({ table: "bench", endpoint: dynalite.endpoint });
  await store.ensureTable();
  const service = new PipelineService({
    store,
    artifacts: new FsArtifactStore(join(root, "svc")),
    audit: new StoreAuditLog(store, systemClock),
    clock: systemClock,
    log: createLogger("error"),
  });
  const one = chain(1, "svc1");
  const fifty = chain(50, "svc50");
  const twenty = chain(20, "svc20");
  for (const d of [one, fifty, twenty]) await service.register(d, {});
  const run = async (name: string) => {
    const t = performance.now();
    const r = await service.startRun(name);
    const done = await service.waitForRun(r.runId);
    if (done.status !== "SUCCEEDED") throw new Error(`${name} ${done.status}`);
    return performance.now() - t;
  };
  const m = async (name: string) => {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) xs.push(await run(name));
    return median(xs);
  };
  const t1 = await m("svc1");
  const t50 = await m("svc50");
  const t20 = await m("svc20");
  console.log(
    `service (run + step records in dynalite, logs, tracking off): 1 step ${t1.toFixed(0)} ms, 50 steps ${t50.toFixed(0)} ms -> ${((t50 - t1) / 49).toFixed(1)} ms per step recorded`,
  );
  console.log(
    `20-step pipeline end to end (start -> recorded SUCCEEDED): ${t20.toFixed(0)} ms (median of 5)`,
  );
  await service.close();
  await store.close();
  await dynalite.close();
}

const root = mkdtempSync(join(tmpdir(), "keel-bench-pipelines-"));
try {
  await compileFigures();
  await executorOverhead(root);
  await serviceFigures(root);
} finally {
  rmSync(root, { recursive: true, force: true });
}
