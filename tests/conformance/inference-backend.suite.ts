import { type InferenceBackend, ServingError } from "@keel/serving";
import { beforeAll, describe, expect, it } from "vitest";
import { type MlpSpec, mlpReference } from "../../bench/serving-onnx-mlp";

export interface BackendUnderTest {
  backend: InferenceBackend;
  /** The model the backend serves: a 4-input, 2-output MLP. */
  spec: MlpSpec;
  /** A backend for the same server whose model does not exist. */
  missingModel: InferenceBackend;
  /** Capabilities an adapter may lack, each with the reason it is skipped. */
  skip?: { metadata?: string; missingModel?: string };
}

/**
 * The InferenceBackend contract, run against every adapter over a real model server:
 * answers match the model, request ids come back, bad tensors are the caller's fault
 * (INVALID_PARAMETER_VALUE, not retryable), an unknown model is RESOURCE_DOES_NOT_EXIST,
 * and concurrent requests each get their own rows.
 */
export function inferenceBackendSuite(name: string, setup: () => Promise<BackendUnderTest>) {
  describe(`InferenceBackend conformance: ${name}`, () => {
    let ut: BackendUnderTest;
    beforeAll(async () => {
      ut = await setup();
    });
    const get = async () => ut;
    const request = (rows: number[][], id?: string) => ({
      ...(id ? { id } : {}),
      inputs: [{ name: "input", datatype: "FP32" as const, shape: [rows.length, 4], data: rows }],
    });

    it("answers with the model's outputs and echoes the request id", async () => {
      const { backend, spec } = await get();
      const rows = [
        [1, 2, 3, 4],
        [-1, 0, 0.5, 2],
      ];
      const res = await backend.infer(request(rows, "conf-1"), { timeoutMs: 10_000 });
      expect(res.id).toBe("conf-1");
      expect(res.outputs[0]).toMatchObject({ name: "output", datatype: "FP32", shape: [2, 2] });
      const expected = rows.flatMap((r) => mlpReference(spec, r));
      res.outputs[0].data.forEach((x, i) => {
        expect(x).toBeCloseTo(expected[i], 4);
      });
    });

    it("keeps every concurrent caller's rows apart", async () => {
      const { backend, spec } = await get();
      const rows = Array.from({ length: 16 }, (_, i) => [i, -i, i / 3, 1]);
      const all = await Promise.all(rows.map((r) => backend.infer(request([r]))));
      all.forEach((res, i) => {
        expect(res.outputs[0].data[0]).toBeCloseTo(mlpReference(spec, rows[i])[0], 4);
      });
    });

    it("rejects a wrong tensor as the caller's error, not retryable", async () => {
      const { backend } = await get();
      const err = await backend.infer(request([[1, 2, 3]])).catch((e) => e);
      expect(err).toBeInstanceOf(ServingError);
      expect(err.code).toBe("INVALID_PARAMETER_VALUE");
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/shape/);
    });

    it("reports an unknown model as RESOURCE_DOES_NOT_EXIST", async (ctx) => {
      const { missingModel, skip } = await get();
      if (skip?.missingModel) ctx.skip(skip.missingModel);
      const err = await missingModel.infer(request([[1, 2, 3, 4]])).catch((e) => e);
      expect(err).toBeInstanceOf(ServingError);
      expect(err.code).toBe("RESOURCE_DOES_NOT_EXIST");
      expect(await missingModel.ready()).toBe(false);
    });

    it("describes the model and reports readiness", async (ctx) => {
      const { backend, skip } = await get();
      expect(await backend.ready()).toBe(true);
      if (skip?.metadata) ctx.skip(skip.metadata);
      const meta = await backend.metadata();
      expect(meta.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 4] }]);
      expect(meta.outputs).toEqual([{ name: "output", datatype: "FP32", shape: [-1, 2] }]);
    });
  });
}
