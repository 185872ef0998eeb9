import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { z } from "zod";
import { ServingError } from "../errors";

export const scoringMessageSchema = z.object({
  requestId: z.string().min(1),
  deployment: z.string().min(1),
  /** The v2 (or entity) request body, as the caller sent it. */
  request: z.record(z.string(), z.unknown()),
});
export type ScoringMessage = z.infer<typeof scoringMessageSchema>;

export interface ReceivedMessage {
  receipt: string;
  message: ScoringMessage;
}

/**
 * ScoringQueue: the asynchronous scoring queue (SQS in AWS, in process locally). At-least-once:
 * a received message comes back after its visibility timeout unless deleted, so consumers
 * write results idempotently (keyed by request id).
 */
export interface ScoringQueue {
  /** Enqueues messages; resolves once all are accepted, throws otherwise (nothing is half-sent silently). */
  send(messages: ScoringMessage[]): Promise<void>;
  /** Up to `max` messages, waiting at most `waitMs` for the first; [] when none arrived. */
  receive(max: number, waitMs: number): Promise<ReceivedMessage[]>;
  /** Acknowledges messages so they are not delivered again. */
  delete(receipts: string[]): Promise<void>;
}

/**
 * The local queue: same contract, in memory, with a visibility timeout. Bounded: a send that
 * would take the messages waiting or in flight past `maxDepth` is refused at once with
 * TEMPORARILY_UNAVAILABLE (503 + Retry-After), and a receive that times out removes its waiter.
 */
export class MemoryScoringQueue implements ScoringQueue {
  private readonly ready: ScoringMessage[] = [];
  private readonly inflight = new Map<string, { message: ScoringMessage; timer: NodeJS.Timeout }>();
  private readonly waiters = new Set<() => void>();
  private seq = 0;

  constructor(
    private readonly visibilityMs = 30_000,
    readonly maxDepth = 10_000,
  ) {}

  async send(messages: ScoringMessage[]): Promise<void> {
    if (this.depth + messages.length > this.maxDepth) {
      throw new ServingError(
        "TEMPORARILY_UNAVAILABLE",
        `the scoring queue is full (${this.maxDepth} messages waiting or in flight); retry later`,
        { retryable: true },
      );
    }
    this.ready.push(...messages.map((m) => scoringMessageSchema.parse(m)));
    this.wake();
  }

  async receive(max: number, waitMs: number): Promise<ReceivedMessage[]> {
    if (this.ready.length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        this.waiters.add(done);
      });
    }
    return this.ready.splice(0, max).map((message) => {
      const receipt = `r${++this.seq}`;
      const timer = setTimeout(() => {
        this.inflight.delete(receipt);
        this.ready.unshift(message);
        this.wake();
      }, this.visibilityMs);
      timer.unref();
      this.inflight.set(receipt, { message, timer });
      return { receipt, message };
    });
  }

  async delete(receipts: string[]): Promise<void> {
    for (const r of receipts) {
      clearTimeout(this.inflight.get(r)?.timer);
      this.inflight.delete(r);
    }
  }

  /** Messages waiting or in flight (tests, metrics). */
  get depth(): number {
    return this.ready.length + this.inflight.size;
  }

  /** Receives currently waiting for a message (tests). */
  get waiting(): number {
    return this.waiters.size;
  }

  private wake(): void {
    for (const f of [...this.waiters]) f();
  }
}

const SQS_BATCH = 10;

/** Amazon SQS: batches of 10 (the API's limit), long polling up to 20 s. */
export class SqsScoringQueue implements ScoringQueue {
  constructor(
    private readonly client: Pick<SQSClient, "send">,
    private readonly queueUrl: string,
  ) {}

  async send(messages: ScoringMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      const chunk = messages.slice(i, i + SQS_BATCH);
      const out = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
        }),
      );
      if (out.Failed?.length) {
        throw new ServingError(
          "TEMPORARILY_UNAVAILABLE",
          `SQS refused ${out.Failed.length} scoring messages: ${out.Failed[0].Message ?? out.Failed[0].Code}`,
          { retryable: true },
        );
      }
    }
  }

  async receive(max: number, waitMs: number): Promise<ReceivedMessage[]> {
    const out = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.min(SQS_BATCH, max),
        WaitTimeSeconds: Math.min(20, Math.ceil(waitMs / 1000)),
      }),
    );
    return (out.Messages ?? []).map((m) => ({
      receipt: m.ReceiptHandle ?? "",
      message: scoringMessageSchema.parse(JSON.parse(m.Body ?? "{}")),
    }));
  }

  async delete(receipts: string[]): Promise<void> {
    for (let i = 0; i < receipts.length; i += SQS_BATCH) {
      await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: receipts.slice(i, i + SQS_BATCH).map((r, j) => ({ Id: String(j), ReceiptHandle: r })),
        }),
      );
    }
  }
}
