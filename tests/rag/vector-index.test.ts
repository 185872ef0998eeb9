import { vectorIndexFor } from "@keel/rag";
import { describe, expect, it } from "vitest";

describe("vectorIndexFor: ANN index and search settings by row count", () => {
  it("IVF-PQ with ~4,096 rows per partition and at most 96 sub-vectors of 4 dimensions or more", () => {
    expect(vectorIndexFor(1_000_000, 384).index).toEqual({
      type: "ivf_pq",
      numPartitions: 244,
      numSubVectors: 96,
      maxIterations: 20,
    });
    expect(vectorIndexFor(100_000, 384).index).toMatchObject({ numPartitions: 24, numSubVectors: 96 });
    expect(vectorIndexFor(20_000, 768).index).toMatchObject({ numPartitions: 5, numSubVectors: 96 });
    expect(vectorIndexFor(20_000, 1536).index).toMatchObject({ numSubVectors: 96 });
    expect(vectorIndexFor(20_000, 1024).index).toMatchObject({ numSubVectors: 64 });
    // Narrow or odd widths: the narrowest divisor from 4 dimensions, or one sub-vector.
    expect(vectorIndexFor(10_000, 36).index).toMatchObject({ numPartitions: 2, numSubVectors: 9 });
    expect(vectorIndexFor(10, 7).index).toMatchObject({ numPartitions: 1, numSubVectors: 1 });
    expect(vectorIndexFor(10, 3).index).toMatchObject({ numSubVectors: 1 });
  });

  it("probes every partition of a small table and a share of a large one, re-ranking candidates exactly", () => {
    expect(vectorIndexFor(20_000, 384).search).toEqual({ nprobes: 5, refineFactor: 20 });
    expect(vectorIndexFor(100_000, 384).search).toMatchObject({ nprobes: 20 });
    expect(vectorIndexFor(1_000_000, 384).search).toMatchObject({ nprobes: 25 });
    expect(vectorIndexFor(4_000_000, 384).search).toMatchObject({ nprobes: 98 });
  });
});
