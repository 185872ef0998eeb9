import { badInput } from "../errors";
import {
  allocate,
  type Datatype,
  setElement,
  type TensorData,
  type TypedArray,
  toJsonArray,
} from "./datatypes";
import type { InferOutput, InferResponse } from "./protocol";
import { elementCount } from "./tensors";

/**
 * KServe v2's binary tensor data extension (Triton's): a body whose first
 * `Inference-Header-Content-Length` bytes are the JSON request and whose rest is the raw
 * little-endian bytes of the inputs that carry `parameters.binary_data_size`, in input
 * order. BYTES elements are each a 4-byte little-endian length and that many bytes.
 */

export const HEADER_LENGTH = "inference-header-content-length";

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Bytes per element of the fixed-size datatypes (BYTES is variable). */
const ELEMENT_BYTES: Partial<Record<Datatype, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

type Json = Record<string, unknown>;

/** Parses the header length: a non-negative integer no larger than the body. */
function headerLength(value: string, total: number): number {
  if (!/^\d+$/.test(value.trim()))
    throw badInput(`${HEADER_LENGTH} must be a non-negative integer, got '${value}'`);
  const n = Number(value.trim());
  if (n === 0) throw badInput(`${HEADER_LENGTH} is 0; the JSON inference header is required`);
  if (n > total) throw badInput(`${HEADER_LENGTH} is ${n} but the body has only ${total} bytes`);
  return n;
}

/** Decodes BYTES elements (4-byte little-endian length + bytes) into strings. */
function decodeBytesElements(raw: Uint8Array, count: number, where: string): string[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: string[] = [];
  let off = 0;
  while (off < raw.byteLength) {
    if (off + 4 > raw.byteLength) throw badInput(`${where}: truncated BYTES element length at byte ${off}`);
    const len = view.getUint32(off, true);
    off += 4;
    if (off + len > raw.byteLength)
      throw badInput(`${where}: BYTES element of ${len} bytes runs past the ${raw.byteLength} bytes given`);
    try {
      out.push(decoder.decode(raw.subarray(off, off + len)));
    } catch {
      throw badInput(`${where}: BYTES element ${out.length} is not valid UTF-8`);
    }
    off += len;
  }
  if (out.length !== count)
    throw badInput(`${where}: shape needs ${count} BYTES elements but the binary data holds ${out.length}`);
  return out;
}

/** Raw little-endian bytes of one input as its payload (a copy, so typed views are aligned). */
function decodeRaw(dt: Datatype, shape: number[], raw: Uint8Array, where: string): TensorData {
  const count = elementCount(shape);
  if (dt === "BYTES") return decodeBytesElements(raw, count, where);
  if (dt === "FP16") throw badInput(`${where}: FP16 tensors are not supported by this server; use FP32`);
  const size = ELEMENT_BYTES[dt] as number;
  if (raw.byteLength !== count * size)
    throw badInput(
      `${where}: shape [${shape.join(",")}] of ${dt} needs ${count * size} bytes but binary_data_size is ${raw.byteLength}`,
    );
  const copy = raw.slice().buffer;
  const out = allocate(dt, 0) as TypedArray;
  const payload = new (out.constructor as new (b: ArrayBuffer) => TypedArray)(copy);
  if (dt === "BOOL") for (let i = 0; i < payload.length; i++) payload[i] = payload[i] ? 1 : 0;
  return payload;
}

/**
 * Splits a binary-extension body into the JSON request, with each binary input's `data`
 * set to its decoded payload (a typed array, or strings for BYTES). Every length is
 * checked: a malformed body is a 400 naming the problem.
 */
export function decodeBinaryRequest(body: Uint8Array, headerLengthValue: string): unknown {
  return decodeBinary(body, headerLengthValue, "inputs");
}

/** A binary-extension response (client side): outputs with `binary_data_size` get their `data`. */
export function decodeBinaryResponse(body: Uint8Array, headerLengthValue: string): InferResponse {
  return decodeBinary(body, headerLengthValue, "outputs") as InferResponse;
}

function decodeBinary(body: Uint8Array, headerLengthValue: string, key: "inputs" | "outputs"): unknown {
  const n = headerLength(headerLengthValue, body.byteLength);
  let req: unknown;
  try {
    req = JSON.parse(decoder.decode(body.subarray(0, n)));
  } catch (e) {
    throw badInput(`malformed JSON inference header (first ${n} bytes): ${(e as Error).message}`);
  }
  if (typeof req !== "object" || req === null || !Array.isArray((req as Json)[key])) return req;
  let off = n;
  for (const input of (req as Record<string, unknown[]>)[key]) {
    if (typeof input !== "object" || input === null) continue;
    const t = input as Json & { parameters?: Json };
    const size = t.parameters?.binary_data_size;
    if (size === undefined) continue;
    const where = `${key === "inputs" ? "input" : "output"} '${String(t.name)}'`;
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0)
      throw badInput(
        `${where}: binary_data_size must be a non-negative integer, got ${JSON.stringify(size)}`,
      );
    if (t.data !== undefined) throw badInput(`${where}: carries both data and binary_data_size`);
    if (off + size > body.byteLength)
      throw badInput(
        `${where}: binary_data_size ${size} runs past the end of the body (${body.byteLength - off} bytes left)`,
      );
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw badInput(`${where}: shape must be an array of non-negative integers`);
    if (typeof t.datatype !== "string" || !(t.datatype in ELEMENT_BYTES || t.datatype === "BYTES"))
      throw badInput(`${where}: unknown datatype ${JSON.stringify(t.datatype)}`);
    t.data = decodeRaw(t.datatype as Datatype, t.shape as number[], body.subarray(off, off + size), where);
    off += size;
  }
  if (off !== body.byteLength)
    throw badInput(
      `the body has ${body.byteLength - off} bytes after the JSON header and the binary inputs (binary_data_size does not add up)`,
    );
  return req;
}

/**
 * The outputs a request wants in binary: those with `parameters.binary_data: true`, or all
 * of them (each may say `binary_data: false`) when the request sets `binary_data_output`.
 * Undefined when none.
 */
export function binaryOutputs(req: unknown): ((name: string) => boolean) | undefined {
  if (typeof req !== "object" || req === null) return undefined;
  const r = req as { parameters?: Json; outputs?: Array<{ name?: unknown; parameters?: Json }> };
  const all = r.parameters?.binary_data_output === true;
  const per = new Map<string, boolean>();
  if (Array.isArray(r.outputs))
    for (const o of r.outputs) {
      const flag = o?.parameters?.binary_data;
      if (typeof o?.name === "string" && typeof flag === "boolean") per.set(o.name, flag);
    }
  if (!all && ![...per.values()].some(Boolean)) return undefined;
  return (name) => per.get(name) ?? all;
}

/** A payload's raw little-endian bytes (BYTES length-prefixed). */
function encodeRaw(o: Pick<InferOutput, "name" | "datatype" | "data">): Uint8Array {
  const data = o.data as unknown;
  if (o.datatype === "BYTES") {
    const parts = (data as unknown[]).map((s) => encoder.encode(String(s)));
    const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
    const view = new DataView(out.buffer);
    let off = 0;
    for (const p of parts) {
      view.setUint32(off, p.byteLength, true);
      out.set(p, off + 4);
      off += 4 + p.byteLength;
    }
    return out;
  }
  let typed: TypedArray;
  if (ArrayBuffer.isView(data)) typed = data as TypedArray;
  else {
    const values = data as unknown[];
    typed = allocate(o.datatype, values.length) as TypedArray;
    const where = `output '${o.name}'`;
    for (let i = 0; i < values.length; i++) setElement(o.datatype, typed, i, values[i], where);
  }
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/**
 * The response in the binary extension's form: the JSON header (binary outputs carry
 * `parameters.binary_data_size` and no `data`) followed by those outputs' bytes in order.
 */
export function encodeBinaryResponse(
  res: InferResponse,
  binary: (name: string) => boolean,
): { body: Uint8Array; headerLength: number } {
  return encodeBinary(res, "outputs", binary);
}

/** A request in the binary extension's form (client side): every input as raw bytes. */
export function encodeBinaryRequest(req: {
  inputs: Array<Pick<InferOutput, "name" | "datatype" | "shape"> & { data: unknown }>;
}): { body: Uint8Array; headerLength: number } {
  return encodeBinary(req, "inputs", () => true);
}

type Tensors = { name: string; datatype: Datatype; data: unknown; parameters?: Json };

function encodeBinary(
  msg: object,
  key: "inputs" | "outputs",
  binary: (name: string) => boolean,
): { body: Uint8Array; headerLength: number } {
  const chunks: Uint8Array[] = [];
  const tensors = ((msg as Record<string, Tensors[]>)[key] ?? []).map((o) => {
    if (!binary(o.name))
      return ArrayBuffer.isView(o.data) ? { ...o, data: toJsonArray(o.datatype, o.data as TensorData) } : o;
    const raw = encodeRaw(o as InferOutput);
    chunks.push(raw);
    const { data: _data, ...rest } = o;
    return { ...rest, parameters: { ...o.parameters, binary_data_size: raw.byteLength } };
  });
  const header = encoder.encode(JSON.stringify({ ...msg, [key]: tensors }));
  const body = new Uint8Array(header.byteLength + chunks.reduce((n, c) => n + c.byteLength, 0));
  body.set(header, 0);
  let off = header.byteLength;
  for (const c of chunks) {
    body.set(c, off);
    off += c.byteLength;
  }
  return { body, headerLength: header.byteLength };
}

/**
 * Replaces typed-array tensor data by plain JSON arrays, so that code written for JSON
 * tensors (the router's chunking, enrichment, remote backends) handles binary requests too.
 */
export function plainTensors<T>(req: T): T {
  const inputs = (req as { inputs?: unknown })?.inputs;
  if (!Array.isArray(inputs)) return req;
  for (const t of inputs as Json[]) {
    const d = t?.data;
    if (!ArrayBuffer.isView(d)) continue;
    if (d instanceof BigInt64Array || d instanceof BigUint64Array) t.data = Array.from(d, (x) => Number(x));
    else if (t.datatype === "BOOL") t.data = Array.from(d as Uint8Array, (x) => x !== 0);
    else t.data = Array.from(d as Float32Array);
  }
  return req;
}
