import { KeelClient } from "@keel/sdk";

// Usage: node --import tsx packages/console/scripts/perf-data.mts [url]: 10,000 runs and one run of 100,000 points.
const keel = new KeelClient({ url: process.argv[2] ?? "http://localhost:5000" });
const t0 = Date.now();
const { experiment_id } = await keel.call("tracking.createExperiment", {
  body: { name: `perf-${Date.now()}` },
});
let next = 0;
const N = 10_000;
async function worker() {
  while (next < N) {
    const i = next++;
    const { run } = await keel.call("tracking.createRun", {
      body: { experiment_id, run_name: `run-${i}`, start_time: Date.now() },
    });
    await keel.call("tracking.logBatch", {
      body: {
        run_id: run.info.run_id,
        metrics: [
          { key: "auc", value: 0.5 + (i % 500) / 1000, timestamp: Date.now(), step: 0 },
          { key: "loss", value: 1 / (1 + i), timestamp: Date.now(), step: 0 },
        ],
        params: [
          { key: "lr", value: String((i % 10) / 100) },
          { key: "depth", value: String(i % 8) },
        ],
      },
    });
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
console.log("runs", experiment_id, (Date.now() - t0) / 1000);
const { run } = await keel.call("tracking.createRun", {
  body: { experiment_id, run_name: "long", start_time: Date.now() },
});
const t1 = Date.now();
for (let b = 0; b < 100; b++) {
  const metrics = Array.from({ length: 1000 }, (_, k) => {
    const step = b * 1000 + k;
    return {
      key: "train_loss",
      value: Math.exp(-step / 20000) + Math.random() * 0.05,
      timestamp: t1 + step,
      step,
    };
  });
  await keel.call("tracking.logBatch", { body: { run_id: run.info.run_id, metrics } });
}
console.log("long run", run.info.run_id, (Date.now() - t1) / 1000);
