// One ONNX Runtime session in a worker thread, so inference runs off the main event loop
// (JSON parsing of the next requests overlaps with compute). Plain JS: worker threads do
// not inherit the TypeScript loader. Messages: {id, feeds} -> {id, outputs} | {id, error}.
import { parentPort, workerData } from "node:worker_threads";
import ort from "onnxruntime-node";

const { model, executionProviders, intraOpNumThreads } = workerData;

function describe(meta) {
  return meta.map((m) => ({
    name: m.name,
    type: m.isTensor ? m.type : "non-tensor",
    shape: m.isTensor ? m.shape.map((d) => (typeof d === "number" ? d : -1)) : [],
  }));
}

let session;
try {
  // No spin-waiting between runs: the spinning intra-op threads would take the CPU the main
  // thread needs to parse the next requests, which is what batching overlaps with compute.
  const opts = {
    executionProviders,
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
  if (intraOpNumThreads > 0) opts.intraOpNumThreads = intraOpNumThreads;
  session = await ort.InferenceSession.create(model, opts);
  parentPort.postMessage({
    type: "ready",
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
  });
} catch (e) {
  parentPort.postMessage({ type: "failed", error: String(e?.message ?? e) });
}

// Runs are serialized: the scheduler may queue a second batch behind the running one so the
// worker starts it without waiting for the main thread, but never runs two at once.
let chain = Promise.resolve();
parentPort.on("message", (msg) => {
  chain = chain.then(() => handle(msg));
});

async function handle(msg) {
  if (msg.type === "close") {
    await session?.release();
    parentPort.close();
    return;
  }
  try {
    const feeds = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const started = performance.now();
    const results = await session.run(feeds, msg.outputs);
    const computeMs = performance.now() - started;
    const outputs = {};
    const transfer = [];
    for (const [name, t] of Object.entries(results)) {
      outputs[name] = { type: t.type, dims: t.dims, data: t.data };
      if (ArrayBuffer.isView(t.data)) transfer.push(t.data.buffer);
    }
    parentPort.postMessage({ type: "result", id: msg.id, outputs, computeMs }, transfer);
  } catch (e) {
    parentPort.postMessage({ type: "result", id: msg.id, error: String(e?.message ?? e) });
  }
}
