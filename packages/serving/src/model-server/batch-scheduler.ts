import { unavailable } from "../errors";
import type { ServingMetrics } from "../metrics/metrics";
import type { Tensor } from "../protocol/protocol";
import { concatData, elementCount, sliceRows } from "../protocol/tensors";
import type { OnnxInstance } from "./onnx-instance";

export interface BatchingPolicy {
  /** Rows a batch may hold (Triton's max_batch_size); 0 = the model takes no batch dimension. */
  maxBatchSize: number;
  /** Dynamic batching; absent = every request runs alone. */
  dynamic?: { preferredBatchSizes: number[]; maxQueueDelayUs: number };
  /** Requests allowed to wait; one more is refused with TEMPORARILY_UNAVAILABLE (503). */
  maxQueueSize: number;
}

interface Queued {
  inputs: Tensor[];
  rows: number;
  /** Requests join one batch only when their non-batch dimensions agree. */
  signature: string;
  enqueuedAt: number;
  resolve: (outputs: Record<string, Tensor>) => void;
  reject: (e: Error) => void;
}

/**
 * Triton-style scheduler for one model version: a bounded FIFO queue feeding a pool of
 * instances. With dynamic batching, an idle instance takes the largest batch it can form
 * from the head of the queue: at once when the rows reach a preferred size, max_batch_size
 * or the queue's oldest request has waited max_queue_delay, and at once whenever the delay
 * is 0, so an idle server adds no wait. Batching happens naturally while every instance is
 * busy; a busy instance also takes one more batch to run next once it holds at least the
 * largest preferred size (or half of max_batch_size). Each request gets its own rows of the
 * outputs back, so responses keep request order.
 */
export class BatchScheduler {
  private readonly queue: Queued[] = [];
  /** Batches sent to each instance and not finished: at most one running plus one waiting behind it. */
  private readonly outstanding: Map<OnnxInstance, number>;
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private drained?: () => void;

  constructor(
    instances: OnnxInstance[],
    private readonly policy: BatchingPolicy,
    private readonly outputNames: string[],
    private readonly metrics: ServingMetrics,
    private readonly labels: { model: string; version: string },
  ) {
    this.outstanding = new Map(instances.map((i) => [i, 0]));
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a request (inputs in the model's input order) and resolves with every model output. */
  submit(inputs: Tensor[]): Promise<Record<string, Tensor>> {
    if (this.closed)
      return Promise.reject(
        unavailable(`model '${this.labels.model}' version ${this.labels.version} is unloading`),
      );
    if (this.queue.length >= this.policy.maxQueueSize) {
      this.metrics.requestFailure.inc({ ...this.labels, reason: "queue_full" });
      return Promise.reject(
        unavailable(
          `model '${this.labels.model}' version ${this.labels.version}: queue is full (${this.policy.maxQueueSize} requests waiting); retry later`,
        ),
      );
    }
    const batched = this.policy.maxBatchSize > 0;
    return new Promise((resolve, reject) => {
      this.queue.push({
        inputs,
        rows: batched ? inputs[0].shape[0] : 1,
        signature: batched ? inputs.map((t) => t.shape.slice(1).join("x")).join("|") : "",
        enqueuedAt: performance.now(),
        resolve,
        reject,
      });
      this.metrics.queueDepth.set(this.labels, this.queue.length);
      this.pump();
    });
  }

  /** Refuses new work, fails what waits, and resolves once running batches finish. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const q of this.queue.splice(0))
      q.reject(unavailable(`model '${this.labels.model}' version ${this.labels.version} was unloaded`));
    if (this.inFlight > 0) await new Promise<void>((r) => (this.drained = r));
  }

  /**
   * Sends work to instances: an idle one takes a batch by the rules of `pick`; a busy one with
   * nothing behind it takes a second batch only once that batch is worth it (`pickBehind`), so
   * the worker starts it the moment the running one ends, without waiting for this thread
   * (which is busy answering the finished batch's callers) to notice and dispatch.
   */
  private pump(): void {
    while (this.queue.length > 0) {
      const idle = this.instanceWith(0);
      const busy = idle ? undefined : this.instanceWith(1);
      const n = idle ? this.pick() : busy ? this.pickBehind() : 0;
      if (n === 0) return;
      const batch = this.queue.splice(0, n);
      this.metrics.queueDepth.set(this.labels, this.queue.length);
      void this.dispatch((idle ?? busy) as OnnxInstance, batch);
    }
  }

  private instanceWith(outstanding: number): OnnxInstance | undefined {
    for (const [i, n] of this.outstanding) if (n === outstanding) return i;
    return undefined;
  }

  /** The head-of-queue batch to queue behind a running one: only a full enough batch (0 = none yet). */
  private pickBehind(): number {
    const dyn = this.policy.dynamic;
    if (!dyn) return 1;
    const { rows, n, preferredAt } = this.headBatch();
    const worthIt = dyn.preferredBatchSizes.at(-1) ?? Math.ceil(this.policy.maxBatchSize / 2);
    return rows >= worthIt ? preferredAt || n : 0;
  }

  /** The requests at the head of the queue that fit one batch (same non-batch shape, <= max rows). */
  private headBatch(): { rows: number; n: number; preferredAt: number } {
    const max = this.policy.maxBatchSize;
    const head = this.queue[0];
    let rows = 0;
    let n = 0;
    let preferredAt = 0;
    for (const q of this.queue) {
      if (q.signature !== head.signature || rows + q.rows > max) break;
      rows += q.rows;
      n++;
      if (this.policy.dynamic?.preferredBatchSizes.includes(rows)) preferredAt = n;
    }
    return { rows, n, preferredAt };
  }

  /** How many head-of-queue requests to run now; 0 = wait for the delay timer. */
  private pick(): number {
    const dyn = this.policy.dynamic;
    if (!dyn) return 1;
    const max = this.policy.maxBatchSize;
    const head = this.queue[0];
    const { rows, n, preferredAt } = this.headBatch();
    const cannotGrow = rows >= max || n < this.queue.length;
    if (cannotGrow) return preferredAt || n;
    const largestPreferred = dyn.preferredBatchSizes.at(-1);
    if (preferredAt && rows === largestPreferred) return preferredAt;
    if (dyn.maxQueueDelayUs === 0) return n;
    const waitedMs = performance.now() - head.enqueuedAt;
    const delayMs = dyn.maxQueueDelayUs / 1000;
    if (waitedMs >= delayMs) return preferredAt || n;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, delayMs - waitedMs);
    }
    return 0;
  }

  private async dispatch(instance: OnnxInstance, batch: Queued[]): Promise<void> {
    this.inFlight++;
    this.outstanding.set(instance, (this.outstanding.get(instance) ?? 0) + 1);
    clearTimeout(this.timer);
    this.timer = undefined;
    const started = performance.now();
    const totalRows = batch.reduce((s, q) => s + q.rows, 0);
    for (const q of batch) this.metrics.queueSeconds.observe(this.labels, (started - q.enqueuedAt) / 1000);
    const batched = this.policy.maxBatchSize > 0;
    const feeds: Tensor[] = batch[0].inputs.map((t, i) =>
      batched
        ? {
            ...t,
            shape: [totalRows, ...t.shape.slice(1)],
            data: concatData(
              t.datatype,
              batch.map((q) => q.inputs[i].data),
            ),
          }
        : t,
    );
    try {
      const { outputs, computeMs } = await instance.run(feeds, this.outputNames);
      this.metrics.computeSeconds.observe(this.labels, computeMs / 1000);
      this.metrics.batchSize.observe(this.labels, totalRows);
      if (!batched) {
        batch[0].resolve(outputs);
      } else {
        let row = 0;
        for (const q of batch) {
          const mine: Record<string, Tensor> = {};
          for (const [name, t] of Object.entries(outputs)) {
            const rowSize = elementCount(t.shape.slice(1));
            mine[name] = {
              ...t,
              shape: [q.rows, ...t.shape.slice(1)],
              data: sliceRows(t.data, rowSize, row, row + q.rows),
            };
          }
          row += q.rows;
          q.resolve(mine);
        }
      }
    } catch (e) {
      for (const q of batch) q.reject(e as Error);
    } finally {
      this.inFlight--;
      this.outstanding.set(instance, (this.outstanding.get(instance) ?? 1) - 1);
      if (this.closed && this.inFlight === 0) this.drained?.();
      if (!this.closed) this.pump();
    }
  }
}
