import { defineExpectations } from "@keel/validation";
import { USER_FEATURES } from "./compute-features";

/**
 * What the fraud model's training set must look like before it is trained on: the pipeline's
 * `validate_training_set` step runs this suite and stops the run on any error.
 */
export const trainingSetExpectations = defineExpectations({
  name: "fraud-training-set",
  expectations: [
    {
      kind: "schema",
      columns: {
        transaction_id: { type: "string", nullable: false },
        user_id: { type: "string", nullable: false },
        amount: { type: "number", nullable: false },
        event_timestamp: { type: "timestamp", nullable: false },
        is_fraud: { type: "integer", nullable: false },
        ...Object.fromEntries(USER_FEATURES.map((f) => [f, { type: "number" as const, nullable: true }])),
      },
    },
    { kind: "unique", columns: ["transaction_id"] },
    { kind: "range", column: "amount", min: 0 },
    { kind: "in_set", column: "is_fraud", values: [0, 1] },
    { kind: "row_count", min: 100 },
    { kind: "range", column: "txn_count_24h", min: 0 },
    ...USER_FEATURES.map((f) => ({
      kind: "null_rate" as const,
      column: f,
      max: 0.2,
      severity: "warn" as const,
    })),
    { kind: "freshness", column: "event_timestamp", maxAgeSeconds: 90 * 86_400, severity: "warn" },
  ],
});
