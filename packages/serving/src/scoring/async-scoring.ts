import { type Clock, isKeelError, type Logger, newToken, parseWith } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import { missing } from "../errors";
import type { InferResponse } from "../protocol/protocol";
import { flatten, type Router, type RouterRequest, routerRequestSchema } from "../router/router";
import type { ReceivedMessage, ScoringMessage, ScoringQueue } from "./scoring-queue";

export interface ScoringResult {
  request_id: string;
  deployment: string;
  status: "pending" | "done" | "failed";
  submitted_at: number;
  completed_at?: number;
  response?: InferResponse;
  error?: string;
}

const key = (id: string) => ({ pk: `SCORE#${id}`, sk: "RESULT" });

/**
 * Asynchronous scoring: requests are validated, recorded as pending and queued; a consumer
 * collects messages over a batching window, merges compatible tensor requests of one
 * deployment into large batches, routes them, and stores each caller's rows under its
 * request id. Results are written with a put keyed by request id, so a redelivered message
 * rewrites the same answer.
 */
export class AsyncScoring {
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly queue: ScoringQueue,
    private readonly router: Router,
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: { windowMs: number; maxMessages: number; maxBatchRows: number } = {
      windowMs: 50,
      maxMessages: 256,
      maxBatchRows: 4096,
    },
  ) {}

  /** Validates and enqueues a request; returns its id for `result`. */
  async submit(deployment: string, body: unknown): Promise<{ request_id: string }> {
    const request = parseWith(routerRequestSchema, body, "inference request");
    if (!(await this.router.lookup(deployment))) throw missing(`deployment '${deployment}' does not exist`);
    const requestId = request.id ?? newToken(16);
    const pending: ScoringResult = {
      request_id: requestId,
      deployment,
      status: "pending",
      submitted_at: this.clock.now(),
    };
    await this.store.put({ ...key(requestId), result: pending });
    try {
      await this.queue.send([{ requestId, deployment, request: request as Record<string, unknown> }]);
    } catch (e) {
      // Refused (queue full): the caller gets the error now, and the id does not stay pending.
      const error = isKeelError(e) ? e.message : "the scoring queue refused the request";
      await this.store.put({ ...key(requestId), result: { ...pending, status: "failed", error } });
      throw e;
    }
    return { request_id: requestId };
  }

  async result(requestId: string): Promise<ScoringResult> {
    const item = await this.store.get(key(requestId));
    if (!item) throw missing(`no scoring request '${requestId}'`);
    return item.result as ScoringResult;
  }

  /** Scores a batch of messages (the SQS Lambda's event, or what the local loop collected). */
  async process(messages: ScoringMessage[]): Promise<void> {
    const groups = new Map<string, ScoringMessage[]>();
    for (const m of messages) {
      const r = m.request as RouterRequest;
      // Only tensor requests with the same tensor layout can share a batch.
      const sig = r.inputs
        ? `${m.deployment}|${JSON.stringify(r.outputs ?? null)}|${r.inputs.map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join("x")}`).join(",")}`
        : `${m.deployment}|entities|${m.requestId}`;
      groups.set(sig, [...(groups.get(sig) ?? []), m]);
    }
    await Promise.all([...groups.values()].map((g) => this.scoreGroup(g)));
  }

  /** Starts the local consumer loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const batch = await this.collect();
        if (batch.length === 0) continue;
        try {
          await this.process(batch.map((b) => b.message));
          await this.queue.delete(batch.map((b) => b.receipt));
        } catch (e) {
          // Left undeleted, the messages come back after the visibility timeout.
          this.log.error("async scoring batch failed", { err: (e as Error).message, messages: batch.length });
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Waits for a first message, then keeps receiving for the batching window. */
  private async collect(): Promise<ReceivedMessage[]> {
    const first = await this.queue.receive(this.opts.maxMessages, 200);
    if (first.length === 0) return first;
    const deadline = performance.now() + this.opts.windowMs;
    const all = [...first];
    while (all.length < this.opts.maxMessages && this.running) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      const more = await this.queue.receive(this.opts.maxMessages - all.length, left);
      all.push(...more);
    }
    return all;
  }

  private async scoreGroup(group: ScoringMessage[]): Promise<void> {
    const deployment = group[0].deployment;
    const requests = group.map((m) => m.request as RouterRequest);
    try {
      if (requests[0].entities || group.length === 1) {
        const res = await this.router.infer(deployment, requests[0]);
        await this.write(group[0], { status: "done", response: { ...res, id: group[0].requestId } });
        return;
      }
      // One request carrying every caller's rows; the router splits it into backend-sized chunks.
      const merged: RouterRequest = {
        outputs: requests[0].outputs,
        inputs: (requests[0].inputs ?? []).map((t, i) => {
          const parts = requests.map((r) => (r.inputs ?? [])[i]);
          return {
            ...t,
            shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...t.shape.slice(1)],
            data: parts.flatMap((p) => flatten(p.data)),
          };
        }),
      };
      const res = await this.router.infer(deployment, merged);
      let row = 0;
      await Promise.all(
        group.map((m, i) => {
          const rows = (requests[i].inputs ?? [])[0].shape[0];
          const mine = sliceResponse(res, row, rows);
          row += rows;
          return this.write(m, { status: "done", response: { ...mine, id: m.requestId } });
        }),
      );
    } catch (e) {
      const error = isKeelError(e) ? e.message : "internal error";
      if (!isKeelError(e)) this.log.error("async scoring failed", { deployment, err: (e as Error).message });
      await Promise.all(group.map((m) => this.write(m, { status: "failed", error })));
    }
  }

  private async write(
    m: ScoringMessage,
    outcome: Pick<ScoringResult, "status" | "response" | "error">,
  ): Promise<void> {
    const prior = await this.store.get(key(m.requestId));
    const submitted = (prior?.result as ScoringResult | undefined)?.submitted_at ?? this.clock.now();
    const result: ScoringResult = {
      request_id: m.requestId,
      deployment: m.deployment,
      submitted_at: submitted,
      completed_at: this.clock.now(),
      ...outcome,
    };
    await this.store.put({ ...key(m.requestId), result: JSON.parse(JSON.stringify(result)) });
  }
}

/** Rows [from, from+rows) of every output of a response. */
function sliceResponse(res: InferResponse, from: number, rows: number): InferResponse {
  return {
    ...res,
    outputs: res.outputs.map((o) => {
      const width = o.shape.slice(1).reduce((a, b) => a * b, 1);
      return {
        ...o,
        shape: [rows, ...o.shape.slice(1)],
        data: o.data.slice(from * width, (from + rows) * width),
      };
    }),
  };
}
