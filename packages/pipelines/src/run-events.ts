import type { PipelineRun, StepRecord } from "./run-store";

/** One event of a run's live stream (the contract's `pipelineRunEventSchema`). */
export type PipelineRunEvent =
  | { type: "snapshot"; run: PipelineRun; steps: StepRecord[] }
  | { type: "step"; step: StepRecord }
  | { type: "run"; run: PipelineRun }
  | { type: "heartbeat"; time: number }
  | { type: "end"; reason: "final" | "limit"; status: string };

/** What the stream reads: one run with its steps (the service's getRun). */
export type RunReader = (runId: string) => Promise<{ run: PipelineRun; steps: StepRecord[] }>;

export interface RunEventOptions {
  /** The connection's time limit in ms; the stream ends with `end` (`limit`) then. */
  maxMs: number;
  /** Ms between heartbeats while nothing changes. */
  heartbeatMs: number;
  /** Ms between reads of the run (the run store is the one source of truth, in any process). */
  pollMs?: number;
  /** True once the caller went away: the stream stops reading. */
  closed?: () => boolean;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const stepKey = (s: StepRecord) => `${s.step}#${s.index ?? ""}`;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A run's live status as events: a snapshot first, then each step record and run record that
 * changed since the last read, heartbeats while nothing did, and `end` with the final status or
 * when the connection's time is up. The first read throws as getRun does (an unknown run is a 404
 * before any byte is sent).
 */
export async function* runEvents(
  read: RunReader,
  runId: string,
  opts: RunEventOptions,
): AsyncGenerator<PipelineRunEvent> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = opts.pollMs ?? 500;
  const start = now();
  let current = await read(runId);
  yield { type: "snapshot", run: current.run, steps: current.steps };
  const steps = new Map(current.steps.map((s) => [stepKey(s), s]));
  let lastSent = now();
  while (current.run.status === "RUNNING") {
    if (opts.closed?.()) return;
    if (now() - start >= opts.maxMs) {
      yield { type: "end", reason: "limit", status: current.run.status };
      return;
    }
    await sleep(Math.min(pollMs, Math.max(0, opts.maxMs - (now() - start))));
    if (opts.closed?.()) return;
    const next = await read(runId);
    let changed = false;
    for (const s of next.steps) {
      if (same(steps.get(stepKey(s)), s)) continue;
      steps.set(stepKey(s), s);
      changed = true;
      yield { type: "step", step: s };
    }
    if (!same(current.run, next.run)) {
      changed = true;
      yield { type: "run", run: next.run };
    }
    current = next;
    if (changed) lastSent = now();
    else if (now() - lastSent >= opts.heartbeatMs) {
      lastSent = now();
      yield { type: "heartbeat", time: lastSent };
    }
  }
  yield { type: "end", reason: "final", status: current.run.status };
}

/**
 * Server-sent events over HTTP: `event: <type>` and one `data:` JSON line per event. The first
 * event is read before the response starts, so a missing run answers its 404 as JSON.
 */
export async function sseResponse(
  events: AsyncGenerator<PipelineRunEvent>,
  signal?: AbortSignal,
): Promise<Response> {
  const encoder = new TextEncoder();
  const first = await events.next();
  const frame = (e: PipelineRunEvent) => encoder.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // Tells EventSource-style readers how long to wait before connecting again.
      controller.enqueue(encoder.encode("retry: 1000\n\n"));
      if (!first.done) controller.enqueue(frame(first.value));
    },
    async pull(controller) {
      if (signal?.aborted) {
        await events.return(undefined);
        return controller.close();
      }
      try {
        const next = await events.next();
        if (next.done) return controller.close();
        controller.enqueue(frame(next.value));
      } catch (err) {
        controller.enqueue(
          encoder.encode(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`),
        );
        controller.close();
      }
    },
    async cancel() {
      await events.return(undefined);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}
