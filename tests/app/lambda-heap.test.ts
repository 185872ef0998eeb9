import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idToken, lambdaInvoker } from "../auth/lambda-events";
import { startTestPlatform } from "../helpers/platform";

/**
 * The Lambda handlers build the app once per container and keep no state that grows with
 * requests: a warm container answering thousands of requests keeps a flat heap. The handler
 * is invoked in process with API Gateway-shaped events (tests/auth/lambda-events.ts), with a
 * different caller, request id and unknown deployment name on every request, so a cache keyed
 * by any of them without a bound shows up as growth between the middle and the end.
 */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let p: Awaited<ReturnType<typeof startTestPlatform>>;
let lambda: ReturnType<typeof lambdaInvoker>;

beforeAll(async () => {
  p = await startTestPlatform();
  lambda = lambdaInvoker(p.platform.app, new URL(p.url).host);
});
afterAll(async () => {
  await p?.close();
});

const ROUNDS = 1500;

async function round(i: number): Promise<number[]> {
  const authorizer = idToken(`user-${i}`, `user-${i}@bank.example`, "[data-scientist]");
  const answers = await Promise.all([
    lambda("GET", "/api/2.0/mlflow/experiments/search?max_results=5", { authorizer }),
    lambda("POST", "/api/2.0/mlflow/runs/search", {
      authorizer,
      body: { experiment_ids: ["0"], max_results: 5 },
    }),
    lambda("POST", `/v2/models/no-such-deployment-${i}/infer`, {
      authorizer,
      body: { id: `req-${i}`, inputs: [{ name: "x", datatype: "FP32", shape: [1, 1], data: [i] }] },
    }),
    lambda("GET", "/health"),
  ]);
  return answers.map((a) => a.status);
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

describe("a warm Lambda handler", () => {
  it("keeps a flat heap over thousands of invocations", async () => {
    const statuses = new Map<string, number>();
    const run = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const s = (await round(i)).join(",");
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
    };
    await run(0, ROUNDS / 3); // warm-up: code compiled, pools and caches filled
    const middle = await settledHeap();
    await run(ROUNDS / 3, ROUNDS);
    const end = await settledHeap();
    // Every round answered as expected (the unknown deployment is a 404, not a 5xx).
    expect([...statuses.keys()]).toEqual(["200,200,404,200"]);
    // 4,000 more requests, each with a new caller, request id and deployment name: an unbounded
    // per-request structure would add several MB; allocator noise stays well under this.
    const growthMb = (end - middle) / 2 ** 20;
    console.log(`heap growth ${growthMb.toFixed(2)} MB (middle ${(middle / 2 ** 20).toFixed(1)} MB)`);
    expect(growthMb).toBeLessThan(8);
    // 6,000 invocations: about 20 s on a quiet machine, minutes on a loaded shared one.
  }, 600_000);
});
