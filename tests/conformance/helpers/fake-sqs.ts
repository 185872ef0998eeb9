import {
  DeleteMessageBatchCommand,
  type DeleteMessageBatchCommandInput,
  type DeleteMessageBatchCommandOutput,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  type ReceiveMessageCommandOutput,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
} from "@aws-sdk/client-sqs";

type SqsCommand = SendMessageBatchCommand | ReceiveMessageCommand | DeleteMessageBatchCommand;

/**
 * Amazon SQS itself, faked for the scoring queue's SQS adapter: a standard queue with a
 * visibility timeout, answering the three commands the adapter sends. Each request is typed
 * with the SDK's own input types and checked against the API's limits (at most 10 entries with
 * unique ids per batch, MaxNumberOfMessages 1..10, WaitTimeSeconds 0..20, the right QueueUrl);
 * a request outside them throws, like SQS's validation errors.
 */
export class FakeSqs {
  readonly requests: Array<{ command: string; input: unknown }> = [];
  private ready: Array<{ id: string; body: string }> = [];
  private readonly inflight = new Map<string, { id: string; body: string; timer: NodeJS.Timeout }>();
  private seq = 0;

  constructor(
    readonly queueUrl = "https://sqs.us-east-1.amazonaws.com/123456789012/keel-scoring",
    private readonly visibilityMs = 30_000,
  ) {}

  async send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
  async send(command: ReceiveMessageCommand): Promise<ReceiveMessageCommandOutput>;
  async send(command: DeleteMessageBatchCommand): Promise<DeleteMessageBatchCommandOutput>;
  async send(command: SqsCommand): Promise<unknown> {
    this.requests.push({ command: command.constructor.name, input: command.input });
    if (command.input.QueueUrl !== this.queueUrl)
      throw new Error(`QueueDoesNotExist: ${command.input.QueueUrl}`);
    if (command instanceof SendMessageBatchCommand) return this.sendBatch(command.input);
    if (command instanceof ReceiveMessageCommand) return this.receive(command.input);
    if (command instanceof DeleteMessageBatchCommand) return this.deleteBatch(command.input);
    throw new Error(`the fake SQS does not answer ${(command as object).constructor.name}`);
  }

  close(): void {
    for (const m of this.inflight.values()) clearTimeout(m.timer);
    this.inflight.clear();
  }

  private sendBatch(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
    const entries = checkBatch(input.Entries ?? [], "SendMessageBatch");
    for (const e of entries) {
      if (!e.MessageBody) throw new Error("InvalidParameterValue: MessageBody is required");
      this.ready.push({ id: `m${++this.seq}`, body: e.MessageBody });
    }
    return {
      Successful: entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: "" })),
      Failed: [],
      $metadata: {},
    };
  }

  private async receive(input: ReceiveMessageCommandInput): Promise<ReceiveMessageCommandOutput> {
    const max = input.MaxNumberOfMessages ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10)
      throw new Error(`InvalidParameterValue: MaxNumberOfMessages ${max} is not in 1..10`);
    const wait = input.WaitTimeSeconds ?? 0;
    if (!Number.isInteger(wait) || wait < 0 || wait > 20)
      throw new Error(`InvalidParameterValue: WaitTimeSeconds ${wait} is not in 0..20`);
    // Long polling: answer as soon as a message is there, or after the wait.
    const end = Date.now() + wait * 1000;
    while (this.ready.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const taken = this.ready.splice(0, max);
    return {
      Messages: taken.map((m) => {
        const receipt = `${m.id}-r${++this.seq}`;
        const timer = setTimeout(() => {
          this.inflight.delete(receipt);
          this.ready.unshift(m);
        }, this.visibilityMs);
        timer.unref();
        this.inflight.set(receipt, { ...m, timer });
        return { MessageId: m.id, ReceiptHandle: receipt, Body: m.body };
      }),
      $metadata: {},
    };
  }

  private deleteBatch(input: DeleteMessageBatchCommandInput): DeleteMessageBatchCommandOutput {
    const entries = checkBatch(input.Entries ?? [], "DeleteMessageBatch");
    for (const e of entries) {
      if (!e.ReceiptHandle) throw new Error("InvalidParameterValue: ReceiptHandle is required");
      const m = this.inflight.get(e.ReceiptHandle);
      if (m) clearTimeout(m.timer);
      this.inflight.delete(e.ReceiptHandle);
    }
    return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [], $metadata: {} };
  }
}

function checkBatch<T extends { Id: string | undefined }>(
  entries: T[],
  what: string,
): Array<T & { Id: string }> {
  if (entries.length === 0) throw new Error(`EmptyBatchRequest: ${what} has no entries`);
  if (entries.length > 10)
    throw new Error(`TooManyEntriesInBatchRequest: ${what} has ${entries.length} entries`);
  const ids = entries.map((e) => e.Id);
  if (ids.some((id) => !id)) throw new Error(`InvalidParameterValue: ${what} entry without Id`);
  if (new Set(ids).size !== ids.length) throw new Error(`BatchEntryIdsNotDistinct: ${what}`);
  return entries as Array<T & { Id: string }>;
}
