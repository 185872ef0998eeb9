import { z } from "zod";
import { DATATYPES, type Datatype, type TensorData } from "./datatypes";

/**
 * The Open Inference Protocol (KServe v2) REST messages, as zod schemas. Tensor `data` is
 * validated by `tensors.ts` against the model's declared inputs (zod walking a large array
 * would cost more than the model on small inputs).
 */
const parameters = z.record(z.string(), z.unknown()).optional();

export const inferInputSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.enum(DATATYPES),
  parameters,
  data: z.unknown(),
});

export const inferRequestSchema = z.object({
  id: z.string().optional(),
  parameters,
  inputs: z.array(inferInputSchema).min(1, "at least one input tensor is required"),
  outputs: z.array(z.object({ name: z.string().min(1), parameters })).optional(),
});

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

export const inferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters,
  outputs: z.array(
    z.object({
      name: z.string(),
      shape: z.array(z.number().int().nonnegative()),
      datatype: z.enum(DATATYPES),
      parameters,
      data: z.array(z.union([z.number(), z.boolean(), z.string()])),
    }),
  ),
});

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

export const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string(),
  inputs: z.array(
    z.object({ name: z.string(), datatype: z.enum(DATATYPES), shape: z.array(z.number().int()) }),
  ),
  outputs: z.array(
    z.object({ name: z.string(), datatype: z.enum(DATATYPES), shape: z.array(z.number().int()) }),
  ),
});

/** A decoded tensor: flat row-major payload plus its shape. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}
