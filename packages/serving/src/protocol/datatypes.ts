import { DATATYPES } from "@keel/contract";
import { badInput } from "../errors";

export { DATATYPES };
export type Datatype = (typeof DATATYPES)[number];

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Tensor payloads: typed arrays for numbers (Uint8Array for BOOL), strings for BYTES. */
export type TensorData = TypedArray | string[];

interface TypeInfo {
  ort: string;
  make: (n: number) => TypedArray | string[];
}

const INFO: Record<Exclude<Datatype, "FP16">, TypeInfo> = {
  BOOL: { ort: "bool", make: (n) => new Uint8Array(n) },
  UINT8: { ort: "uint8", make: (n) => new Uint8Array(n) },
  UINT16: { ort: "uint16", make: (n) => new Uint16Array(n) },
  UINT32: { ort: "uint32", make: (n) => new Uint32Array(n) },
  UINT64: { ort: "uint64", make: (n) => new BigUint64Array(n) },
  INT8: { ort: "int8", make: (n) => new Int8Array(n) },
  INT16: { ort: "int16", make: (n) => new Int16Array(n) },
  INT32: { ort: "int32", make: (n) => new Int32Array(n) },
  INT64: { ort: "int64", make: (n) => new BigInt64Array(n) },
  FP32: { ort: "float32", make: (n) => new Float32Array(n) },
  FP64: { ort: "float64", make: (n) => new Float64Array(n) },
  BYTES: { ort: "string", make: (n) => new Array<string>(n).fill("") },
};

const FROM_ORT = new Map(Object.entries(INFO).map(([dt, i]) => [i.ort, dt as Datatype]));

/** Triton's config.pbtxt names (TYPE_FP32) to protocol names (FP32). */
export function fromTritonType(t: string): Datatype {
  const name = t.replace(/^TYPE_/, "");
  if (name === "STRING") return "BYTES";
  if ((DATATYPES as readonly string[]).includes(name) && name !== "FP16") return name as Datatype;
  throw badInput(
    `data_type ${t} is not supported (supported: ${DATATYPES.filter((d) => d !== "FP16")
      .map((d) => (d === "BYTES" ? "TYPE_STRING" : `TYPE_${d}`))
      .join(", ")})`,
  );
}

export function toOrtType(dt: Datatype): string {
  if (dt === "FP16") throw badInput("FP16 tensors cannot be carried in JSON by this server");
  return INFO[dt].ort;
}

export function fromOrtType(t: string): Datatype {
  const dt = FROM_ORT.get(t);
  if (!dt) throw badInput(`ONNX tensor type ${t} is not supported`);
  return dt;
}

export function allocate(dt: Datatype, n: number): TensorData {
  if (dt === "FP16") throw badInput("FP16 tensors cannot be carried in JSON by this server");
  return INFO[dt].make(n);
}

/** Writes one JSON element into a payload, checking its JSON type against the datatype. */
export function setElement(dt: Datatype, out: TensorData, i: number, v: unknown, where: string): void {
  if (dt === "BYTES") {
    if (typeof v !== "string") throw badInput(`${where}: BYTES elements must be strings, got ${typeof v}`);
    (out as string[])[i] = v;
    return;
  }
  if (dt === "BOOL") {
    if (typeof v !== "boolean")
      throw badInput(`${where}: BOOL elements must be true/false, got ${JSON.stringify(v)}`);
    (out as Uint8Array)[i] = v ? 1 : 0;
    return;
  }
  if (typeof v !== "number")
    throw badInput(`${where}: ${dt} elements must be numbers, got ${JSON.stringify(v)}`);
  if (dt === "INT64" || dt === "UINT64") {
    if (!Number.isInteger(v)) throw badInput(`${where}: ${dt} elements must be integers, got ${v}`);
    (out as BigInt64Array)[i] = BigInt(v) as never;
    return;
  }
  if (dt !== "FP32" && dt !== "FP64" && !Number.isInteger(v))
    throw badInput(`${where}: ${dt} elements must be integers, got ${v}`);
  (out as Float32Array)[i] = v;
}

/** A payload as plain JSON values (BOOL as booleans, 64-bit ints as numbers). */
export function toJsonArray(dt: Datatype, data: TensorData): Array<number | boolean | string> {
  if (Array.isArray(data)) return data;
  if (dt === "BOOL") return Array.from(data as Uint8Array, (x) => x !== 0);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array)
    return Array.from(data, (x) => Number(x));
  return Array.from(data as Float32Array);
}
