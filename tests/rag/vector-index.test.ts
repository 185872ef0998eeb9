import { vectorIndexFor } from "@keel/rag";
import { describe, expect, it } from "vitest";

describe("vectorIndexFor: ANN index and search settings by row count", () => {
  it("IVF-PQ with 8-d sub-vectors and ~4,096 rows per partition", () => {
    expect(vectorIndexFor(1_000_000, 384).index).toEqual({
      type: "ivf_pq",
      numPartitions: 244,
      numSubVectors: 48,
      maxIterations: 20,
    });
    expect(vectorIndexFor(100_000, 384).index).toMatchObject({ numPartitions: 24, numSubVectors: 48 });
    expect(vectorIndexFor(20_000, 1536).index).toMatchObject({ numPartitions: 5, numSubVectors: 192 });
    // Narrow or odd widths: 4-d (or smaller) sub-vectors that divide the dimension.
    expect(vectorIndexFor(10_000, 36).index).toMatchObject({ numPartitions: 2, numSubVectors: 9 });
    expect(vectorIndexFor(10, 7).index).toMatchObject({ numPartitions: 1, numSubVectors: 7 });
  });

  it("probes every partition of a small table and a share of a large one, re-ranking candidates exactly", () => {
    expect(vectorIndexFor(20_000, 384).search).toEqual({ nprobes: 5, refineFactor: 30 });
    expect(vectorIndexFor(100_000, 384).search).toMatchObject({ nprobes: 20 });
    expect(vectorIndexFor(1_000_000, 384).search).toMatchObject({ nprobes: 25 });
    expect(vectorIndexFor(4_000_000, 384).search).toMatchObject({ nprobes: 98 });
  });
});
