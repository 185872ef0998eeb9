import { badInput } from "../errors";
import { allocate, type Datatype, setElement, type TensorData, toJsonArray } from "./datatypes";
import type { InferInput, InferOutput, Tensor, TensorMetadata } from "./protocol";

/** Number of elements of a shape. */
export function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Flattens a JSON tensor (flat or nested row-major, as the protocol allows) into a typed
 * payload, checking element types and the element count against the shape.
 */
export function decodeTensor(input: InferInput): Tensor {
  const where = `input '${input.name}'`;
  const expected = elementCount(input.shape);
  if (input.datatype === "FP16")
    throw badInput(`${where}: FP16 tensors cannot be sent as JSON to this server; use FP32`);
  const out = allocate(input.datatype, expected);
  if (ArrayBuffer.isView(input.data)) {
    // Already decoded by the binary tensor data extension: check its type and length only.
    const data = input.data as unknown as TensorData;
    if (data.constructor !== out.constructor || data.length !== expected)
      throw badInput(
        `${where}: shape [${input.shape.join(",")}] needs ${expected} ${input.datatype} elements`,
      );
    return { name: input.name, datatype: input.datatype, shape: input.shape, data };
  }
  let i = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (i >= expected) {
      i++;
      return;
    }
    setElement(input.datatype, out, i, v, where);
    i++;
  };
  if (!Array.isArray(input.data)) throw badInput(`${where}: data must be an array`);
  walk(input.data);
  if (i !== expected) {
    throw badInput(`${where}: shape [${input.shape.join(",")}] needs ${expected} elements but data has ${i}`);
  }
  return { name: input.name, datatype: input.datatype, shape: input.shape, data: out };
}

/**
 * Checks a decoded tensor against the model's declaration: same datatype, same rank, equal
 * fixed dimensions (-1 matches anything). `maxBatch` > 0 means the first dimension is the
 * batch dimension and may not exceed it.
 */
export function checkAgainst(t: Tensor, decl: TensorMetadata, model: string, maxBatch: number): void {
  const where = `model '${model}' input '${t.name}'`;
  if (t.datatype !== decl.datatype)
    throw badInput(`${where}: expected datatype ${decl.datatype}, got ${t.datatype}`);
  const ok =
    t.shape.length === decl.shape.length &&
    t.shape.every((d, i) => decl.shape[i] === -1 || decl.shape[i] === d);
  if (!ok) throw badInput(`${where}: expected shape [${decl.shape.join(",")}], got [${t.shape.join(",")}]`);
  if (maxBatch > 0 && t.shape[0] > maxBatch) {
    throw badInput(`${where}: batch of ${t.shape[0]} exceeds max_batch_size ${maxBatch}`);
  }
  if (maxBatch > 0 && t.shape[0] === 0) throw badInput(`${where}: batch dimension must be at least 1`);
}

/** Concatenates payloads of the same datatype along the first dimension. */
export function concatData(dt: Datatype, parts: TensorData[]): TensorData {
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = allocate(dt, total);
  let off = 0;
  for (const p of parts) {
    if (Array.isArray(out)) for (let i = 0; i < p.length; i++) out[off + i] = (p as string[])[i];
    else (out as Float32Array).set(p as Float32Array, off);
    off += p.length;
  }
  return out;
}

/** Rows [from, to) of a payload whose rows hold `rowSize` elements each. */
export function sliceRows(data: TensorData, rowSize: number, from: number, to: number): TensorData {
  return Array.isArray(data)
    ? data.slice(from * rowSize, to * rowSize)
    : data.subarray(from * rowSize, to * rowSize);
}

export function encodeTensor(t: Tensor): InferOutput {
  return { name: t.name, datatype: t.datatype, shape: t.shape, data: toJsonArray(t.datatype, t.data) };
}
