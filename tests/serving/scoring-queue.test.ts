import {
  type DeleteMessageBatchCommand,
  type DeleteMessageBatchCommandInput,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
} from "@aws-sdk/client-sqs";
import {
  KServeHttpBackend,
  MemoryScoringQueue,
  type ScoringMessage,
  type ScoringQueue,
  ServingError,
  SqsScoringQueue,
} from "@keel/serving";
import { describe, expect, it } from "vitest";
import { closedUrl } from "./fixtures";

const msg = (i: number): ScoringMessage => ({ requestId: `r${i}`, deployment: "d", request: { inputs: [] } });

/** The queue contract both adapters keep: what is sent is received once, and comes back unless deleted. */
async function roundTrip(queue: ScoringQueue) {
  await queue.send([msg(1), msg(2), msg(3)]);
  const got = await queue.receive(10, 100);
  expect(got.map((g) => g.message.requestId)).toEqual(["r1", "r2", "r3"]);
  await queue.delete(got.map((g) => g.receipt));
}

describe("scoring queues", () => {
  it("in-process queue: delivers, and redelivers what is not deleted after the visibility timeout", async () => {
    const q = new MemoryScoringQueue(50);
    await roundTrip(q);
    expect(q.depth).toBe(0);
    await q.send([msg(4)]);
    const first = await q.receive(1, 0);
    expect(first).toHaveLength(1);
    const again = await q.receive(1, 5_000);
    expect(again[0].message.requestId).toBe("r4");
    await q.delete([again[0].receipt]);
    expect(await q.receive(1, 10)).toEqual([]);
  });

  it("SQS adapter: batches of 10 with the SDK's command shapes (AWS itself is stood in for)", async () => {
    const store: string[] = [];
    const calls: Array<{ name: string; input: unknown }> = [];
    const client = {
      async send(cmd: SendMessageBatchCommand | ReceiveMessageCommand | DeleteMessageBatchCommand) {
        calls.push({ name: cmd.constructor.name, input: cmd.input });
        if (cmd instanceof SendMessageBatchCommand) {
          const input: SendMessageBatchCommandInput = cmd.input;
          store.push(...(input.Entries ?? []).map((e) => e.MessageBody ?? ""));
          return { Successful: [], Failed: [] };
        }
        if (cmd instanceof ReceiveMessageCommand) {
          const input: ReceiveMessageCommandInput = cmd.input;
          const bodies = store.splice(0, input.MaxNumberOfMessages ?? 1);
          return { Messages: bodies.map((Body, i) => ({ Body, ReceiptHandle: `h${i}` })) };
        }
        const input: DeleteMessageBatchCommandInput = cmd.input;
        return { Successful: input.Entries?.map((e) => ({ Id: e.Id })), Failed: [] };
      },
    };
    const q = new SqsScoringQueue(client as never, "https://sqs.us-east-1.amazonaws.com/1/keel-scoring");
    await roundTrip(q);
    await q.send(Array.from({ length: 23 }, (_, i) => msg(i)));
    const sends = calls
      .filter((c) => c.name === "SendMessageBatchCommand")
      .map((c) => (c.input as SendMessageBatchCommandInput).Entries?.length);
    expect(sends).toEqual([3, 10, 10, 3]);
    expect(calls.find((c) => c.name === "ReceiveMessageCommand")?.input).toEqual({
      QueueUrl: "https://sqs.us-east-1.amazonaws.com/1/keel-scoring",
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
    });
    const failing = new SqsScoringQueue(
      { send: async () => ({ Failed: [{ Id: "0", Code: "Throttled", SenderFault: false }] }) } as never,
      "u",
    );
    await expect(failing.send([msg(1)])).rejects.toThrow(/SQS refused 1 scoring messages/);
  });

  it("KServe HTTP backend: a refused connection is retryable, a missing server never hangs", async () => {
    const url = await closedUrl();
    const err = await new KServeHttpBackend(url, "m")
      .infer({ inputs: [{ name: "x", datatype: "FP32", shape: [1], data: [1] }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ServingError);
    expect(err).toMatchObject({ code: "TEMPORARILY_UNAVAILABLE", retryable: true });
    expect(await new KServeHttpBackend(url, "m").ready()).toBe(false);
  });
});
