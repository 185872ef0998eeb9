import { Worker } from "node:worker_threads";
import { ServingError } from "../errors";
import { fromOrtType, type TensorData, toOrtType } from "../protocol/datatypes";
import type { Tensor, TensorMetadata } from "../protocol/protocol";
import type { ExecutionProvider } from "./model-config";

const WORKER_URL = new URL("./onnx-worker.mjs", import.meta.url);

interface WorkerTensor {
  type: string;
  dims: readonly number[];
  data: TensorData;
}

interface Pending {
  resolve: (r: { outputs: Record<string, Tensor>; computeMs: number }) => void;
  reject: (e: Error) => void;
}

/**
 * One model instance: an ONNX Runtime session in its own worker thread. Runs execute one at a
 * time in the order `run` was called; the scheduler keeps at most one waiting behind the
 * running one, so the worker starts it without a round trip through the main thread.
 */
export class OnnxInstance {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead?: Error;

  private constructor(
    private readonly worker: Worker,
    readonly inputs: TensorMetadata[],
    readonly outputs: TensorMetadata[],
  ) {
    worker.on(
      "message",
      (m: {
        type: string;
        id: number;
        outputs?: Record<string, WorkerTensor>;
        error?: string;
        computeMs?: number;
      }) => {
        if (m.type !== "result") return;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined || !m.outputs) {
          p.reject(new ServingError("INTERNAL_ERROR", `inference failed: ${m.error}`));
          return;
        }
        const outputs: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(m.outputs)) {
          outputs[name] = { name, datatype: fromOrtType(t.type), shape: [...t.dims], data: t.data };
        }
        p.resolve({ outputs, computeMs: m.computeMs ?? 0 });
      },
    );
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values())
        p.reject(new ServingError("INTERNAL_ERROR", `model instance stopped: ${e.message}`));
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`worker exited with code ${code}`)));
  }

  /** Starts a worker and loads the model; rejects with the runtime's message if it cannot. */
  static async create(
    model: string | Uint8Array,
    provider: ExecutionProvider,
    intraOpNumThreads: number,
  ): Promise<OnnxInstance> {
    const worker = new Worker(WORKER_URL, {
      workerData: {
        model,
        executionProviders: provider === "webgpu" ? ["webgpu"] : ["cpu"],
        intraOpNumThreads,
      },
    });
    const meta = await new Promise<{
      inputs: Array<WorkerTensor & { name: string; shape: number[] }>;
      outputs: Array<{ name: string; type: string; shape: number[] }>;
    }>((resolve, reject) => {
      worker.once("message", (m: { type: string; error?: string; inputs: never; outputs: never }) => {
        if (m.type === "ready") resolve(m);
        else
          reject(
            new ServingError(
              "INVALID_PARAMETER_VALUE",
              `ONNX Runtime cannot load the model (${provider}): ${m.error}`,
            ),
          );
      });
      worker.once("error", (e) =>
        reject(new ServingError("INTERNAL_ERROR", `model worker failed: ${e.message}`)),
      );
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    const toMeta = (m: { name: string; type: string; shape: number[] }): TensorMetadata => ({
      name: m.name,
      datatype: fromOrtType(m.type),
      shape: m.shape,
    });
    return new OnnxInstance(worker, meta.inputs.map(toMeta), meta.outputs.map(toMeta));
  }

  /** Runs the model on whole tensors; the payload buffers move to the worker (do not reuse them). */
  run(
    feeds: Tensor[],
    outputNames: string[],
  ): Promise<{ outputs: Record<string, Tensor>; computeMs: number }> {
    if (this.dead)
      return Promise.reject(
        new ServingError("INTERNAL_ERROR", `model instance stopped: ${this.dead.message}`),
      );
    const id = this.nextId++;
    const msgFeeds: Record<string, WorkerTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const t of feeds) {
      msgFeeds[t.name] = { type: toOrtType(t.datatype), dims: t.shape, data: t.data };
      if (
        !Array.isArray(t.data) &&
        t.data.byteOffset === 0 &&
        t.data.byteLength === t.data.buffer.byteLength
      ) {
        transfer.push(t.data.buffer as ArrayBuffer);
      }
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: "run", id, feeds: msgFeeds, outputs: outputNames }, transfer);
    });
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: "close" });
    await this.worker.terminate();
  }
}
