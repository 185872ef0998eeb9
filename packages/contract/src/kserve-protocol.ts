/**
 * The Open Inference Protocol (KServe v2) REST messages, as zod schemas. Tensor `data` is
 * validated by serving against the model's declared inputs (zod walking a large array
 * would cost more than the model on small inputs).
 */
import { z } from "zod";

/** The Open Inference Protocol tensor datatypes Keel carries over JSON. */
export const DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;

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

/** A v2 request as the router takes it: tensors, or entity ids to enrich from the feature store. */
export const routerRequestSchema = inferRequestSchema
  .extend({
    inputs: inferRequestSchema.shape.inputs.optional(),
    entities: z.record(z.string(), z.array(z.union([z.string(), z.number()])).min(1)).optional(),
  })
  .refine((r) => (r.inputs === undefined) !== (r.entities === undefined), {
    message:
      "give either 'inputs' (tensors) or 'entities' (ids to look features up for), not both or neither",
  });
