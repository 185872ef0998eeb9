import { MemoryScoringQueue, type ScoringMessage } from "@keel/serving";
import { describe, expect, it } from "vitest";

const msg = (i: number): ScoringMessage => ({
  requestId: `b${i}`,
  deployment: "d",
  request: { id: `b${i}` },
});

describe("MemoryScoringQueue bounds", () => {
  it("forgets a receive's waiter once it times out", async () => {
    const queue = new MemoryScoringQueue(1000);
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 50 }, () => queue.receive(10, 1)));
      expect(queue.waiting).toBe(0);
    }
    // A waiter still waiting is counted, and a send wakes it and empties the set.
    const pending = queue.receive(1, 10_000);
    expect(queue.waiting).toBe(1);
    await queue.send([msg(0)]);
    expect((await pending).map((r) => r.message.requestId)).toEqual(["b0"]);
    expect(queue.waiting).toBe(0);
  });

  it("refuses a send past maxDepth with TEMPORARILY_UNAVAILABLE and never holds more", async () => {
    const queue = new MemoryScoringQueue(60_000, 5);
    await queue.send([msg(1), msg(2), msg(3)]);
    await expect(queue.send([msg(4), msg(5), msg(6)])).rejects.toMatchObject({
      code: "TEMPORARILY_UNAVAILABLE",
    });
    expect(queue.depth).toBe(3);
    await queue.send([msg(4), msg(5)]);
    for (let i = 6; i < 20; i++) await queue.send([msg(i)]).catch(() => undefined);
    expect(queue.depth).toBe(5);
    // In-flight messages count until deleted; deleting makes room again.
    const got = await queue.receive(5, 0);
    await expect(queue.send([msg(99)])).rejects.toMatchObject({ code: "TEMPORARILY_UNAVAILABLE" });
    await queue.delete(got.map((r) => r.receipt));
    await queue.send([msg(99)]);
    expect(queue.depth).toBe(1);
  });
});
