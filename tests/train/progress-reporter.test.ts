import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { progressReporter } from "@keel/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The train step's progress reporter against a real HTTP server that plays a tuning trial's
 * progress endpoint: rounds arrive in order while the trainer goes on, and a `{"stop": true}`
 * answer reaches the trainer's thread through the shared flag.
 */
const received: number[] = [];
let stopAfter = Number.POSITIVE_INFINITY;
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => {
    body += c;
  });
  req.on("end", () => {
    const { rounds } = JSON.parse(body) as { rounds: Array<{ step: number }> };
    received.push(...rounds.map((r) => r.step));
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ stop: received.some((s) => s >= stopAfter) }));
  });
});
let url = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/progress`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A trainer's loop: one round per turn, until the reporter says stop or the budget ends. */
async function train(report: ReturnType<typeof progressReporter>, budget: number): Promise<number> {
  for (let step = 1; step <= budget; step++) {
    if (report.round(step, { loss: 1 / step })) return step;
    await new Promise((r) => setTimeout(r, 2));
  }
  return budget;
}

describe("progressReporter", () => {
  it("delivers every round in order and stops the trainer between rounds when told to", async () => {
    received.length = 0;
    stopAfter = 5;
    const report = progressReporter(url);
    const endedAt = await train(report, 100_000);
    await report.close();
    expect(endedAt).toBeGreaterThan(5);
    expect(endedAt).toBeLessThan(100_000);
    expect(received.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect([...received].sort((a, b) => a - b)).toEqual(received);
  });

  it("never stops a trainer the endpoint lets go on, and sends what is queued on close", async () => {
    received.length = 0;
    stopAfter = Number.POSITIVE_INFINITY;
    const report = progressReporter(url);
    expect(await train(report, 30)).toBe(30);
    await report.close();
    expect(received).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
