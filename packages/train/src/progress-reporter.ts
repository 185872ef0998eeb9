import { Worker } from "node:worker_threads";

/**
 * The helper thread's source (inline, so the train step's Lambda bundle needs no extra file):
 * it POSTs the rounds the trainer reported since its last request, one request at a time, and
 * sets the shared flag when an answer says `{"stop": true}`. Network errors are ignored: a
 * trial that cannot report trains on.
 */
const HELPER = `
const { parentPort, workerData } = require("node:worker_threads");
const flag = new Int32Array(workerData.flag);
let queue = [];
let sending = false;
let closing = false;
async function pump() {
  if (sending) return;
  sending = true;
  while (queue.length && !Atomics.load(flag, 0)) {
    const rounds = queue;
    queue = [];
    try {
      const res = await fetch(workerData.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...workerData.headers },
        body: JSON.stringify({ rounds }),
      });
      const body = res.ok ? await res.json() : undefined;
      if (body && body.stop === true) Atomics.store(flag, 0, 1);
    } catch {}
  }
  sending = false;
  if (closing) parentPort.postMessage("drained");
}
parentPort.on("message", (m) => {
  if (m === "close") {
    closing = true;
    if (!sending) parentPort.postMessage("drained");
  } else {
    queue.push(m);
    void pump();
  }
});
`;

/** Thrown by the train step when the tuning's stopping rule stopped its trial. */
export class TrainingStopped extends Error {
  constructor(readonly rounds: number) {
    super(`training stopped early by the tuning's stopping rule after ${rounds} rounds`);
    this.name = "TrainingStopped";
  }
}

/**
 * Reports a synchronous trainer's rounds to a URL while it trains (a tuning trial's progress
 * endpoint) and tells it when to stop: the trainer's thread only posts each round to a helper
 * thread and reads a shared flag, so reporting never waits on the network.
 */
export function progressReporter(url: string, headers: Record<string, string> = {}) {
  const flag = new SharedArrayBuffer(4);
  const stopped = new Int32Array(flag);
  const helper = new Worker(HELPER, { eval: true, workerData: { url, headers, flag } });
  helper.unref();
  return {
    /** Reports round `step` (rounds done); true once the rule has said stop. */
    round(step: number, metrics: Record<string, number>): boolean {
      helper.postMessage({ step, metrics });
      return Atomics.load(stopped, 0) !== 0;
    },
    /** Sends what is queued (waiting at most `waitMs`), then ends the helper. */
    async close(waitMs = 5000): Promise<void> {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        helper.once("message", () => {
          clearTimeout(timer);
          resolve();
        });
        helper.once("error", resolve);
        helper.postMessage("close");
      });
      await helper.terminate();
    },
  };
}
