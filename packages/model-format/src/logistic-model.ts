import { z } from "zod";

/**
 * A trained logistic regression on the raw (unstandardised) features. Weights and bias are
 * float32 values so ONNX Runtime's float MatMul sees the same numbers; `means` are the
 * training means, the reference point of the exact linear explanations.
 */
export const logisticModelSchema = z.object({
  kind: z.literal("logistic"),
  features: z.array(z.string()).min(1),
  weights: z.array(z.number()),
  bias: z.number(),
  means: z.array(z.number()),
});
export type LogisticModel = z.infer<typeof logisticModelSchema>;

/** Margin (log-odds) of one row; inputs are compared as float32, as the ONNX model sees them. */
export function logisticMargin(model: LogisticModel, x: ArrayLike<number>): number {
  let m = model.bias;
  for (let f = 0; f < model.weights.length; f++) m += model.weights[f] * Math.fround(x[f]);
  return m;
}
