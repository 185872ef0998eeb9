import {
  inferInputSchema,
  inferRequestSchema,
  inferResponseSchema,
  modelMetadataSchema,
} from "@keel/contract";
import type { z } from "zod";
import type { Datatype, TensorData } from "./datatypes";

export { inferInputSchema, inferRequestSchema, inferResponseSchema, modelMetadataSchema };

/**
 * The Open Inference Protocol (KServe v2) REST messages, as zod schemas. Tensor `data` is
 * validated by `tensors.ts` against the model's declared inputs (zod walking a large array
 * would cost more than the model on small inputs).
 */

export type InferInput = z.infer<typeof inferInputSchema>;
export type InferRequest = z.infer<typeof inferRequestSchema>;

export interface InferOutput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Record<string, unknown>;
  data: Array<number | boolean | string>;
}

export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: InferOutput[];
}

export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  /** -1 marks a variable dimension (the batch dimension included). */
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** A decoded tensor: flat row-major payload plus its shape. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}
