import type { ScoringMessage, ScoringQueue } from "@keel/serving";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let seq = 0;
const msg = (deployment: string): ScoringMessage => ({
  requestId: `r${++seq}`,
  deployment,
  request: { inputs: [{ name: "x", datatype: "FP32", shape: [1, 1], data: [seq] }] },
});

/** Receives until `n` messages of one deployment arrived (or a bounded number of polls passed). */
async function receiveN(queue: ScoringQueue, n: number, deployment: string) {
  const got: Awaited<ReturnType<ScoringQueue["receive"]>> = [];
  for (let i = 0; i < 50 && got.length < n; i++)
    got.push(...(await queue.receive(10, 50)).filter((r) => r.message.deployment === deployment));
  return got;
}

/**
 * The ScoringQueue contract (packages/serving/src/scoring/scoring-queue.ts), run against every adapter:
 * at-least-once delivery, a message comes back after its visibility timeout unless deleted.
 * `make` builds a queue whose visibility timeout is `visibilityMs`.
 */
export function scoringQueueSuite(
  name: string,
  make: (visibilityMs: number) => Promise<{ queue: ScoringQueue; close: () => Promise<void> }>,
) {
  describe(`ScoringQueue conformance: ${name}`, () => {
    const visibilityMs = 200;
    let queue: ScoringQueue;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ queue, close } = await make(visibilityMs));
    });
    afterAll(async () => {
      await close?.();
    });

    it("delivers what was sent, unchanged and in order", async () => {
      const sent = [msg("a"), msg("a"), msg("a")];
      await queue.send(sent);
      const got = await receiveN(queue, 3, "a");
      expect(got.map((g) => g.message)).toEqual(sent);
      await queue.delete(got.map((g) => g.receipt));
    });

    it("takes more messages than one batch and hands out at most `max` per receive", async () => {
      const sent = Array.from({ length: 23 }, () => msg("b"));
      await queue.send(sent);
      const first = await queue.receive(5, 50);
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThanOrEqual(5);
      const rest = await receiveN(queue, 23 - first.length, "b");
      const all = [...first, ...rest];
      expect(all.map((g) => g.message.requestId).sort()).toEqual(sent.map((m) => m.requestId).sort());
      await queue.delete(all.map((g) => g.receipt));
    });

    it("answers an empty receive with [] after waiting", async () => {
      expect(await queue.receive(10, 10)).toEqual([]);
    });

    it("redelivers a message that was not deleted after its visibility timeout, never one that was", async () => {
      const kept = msg("c");
      const acked = msg("c");
      await queue.send([kept, acked]);
      const got = await receiveN(queue, 2, "c");
      expect(got).toHaveLength(2);
      await queue.delete(got.filter((g) => g.message.requestId === acked.requestId).map((g) => g.receipt));
      // Invisible until the timeout passes...
      expect((await queue.receive(10, 0)).filter((g) => g.message.deployment === "c")).toEqual([]);
      await new Promise((r) => setTimeout(r, visibilityMs + 50));
      const again = await receiveN(queue, 1, "c");
      expect(again.map((g) => g.message)).toEqual([kept]);
      await queue.delete(again.map((g) => g.receipt));
      await new Promise((r) => setTimeout(r, visibilityMs + 50));
      expect((await queue.receive(10, 10)).filter((g) => g.message.deployment === "c")).toEqual([]);
    });

    it("accepts an empty delete", async () => {
      await queue.delete([]);
    });
  });
}
