import type { Index } from "@lancedb/lancedb";

/** The ANN index a table's `vector` column gets (cosine distance in every case). */
export type VectorIndexSettings =
  | { type: "ivf_pq"; numPartitions: number; numSubVectors: number; maxIterations: number }
  | { type: "ivf_hnsw_sq"; numPartitions: number; m: number; efConstruction: number }
  | { type: "ivf_hnsw_pq"; numPartitions: number; numSubVectors: number; m: number; efConstruction: number }
  | { type: "ivf_flat"; numPartitions: number }
  | { type: "ivf_rq"; numPartitions: number; numBits: number };

/** How a query searches that index: partitions probed, exact re-ranking of candidates, HNSW breadth. */
export interface VectorSearchSettings {
  nprobes: number;
  /** Candidates re-ranked with exact distances: k x refineFactor (none when absent). */
  refineFactor?: number;
  /** HNSW search breadth (IVF_HNSW_* only). */
  ef?: number;
}

/** Rows per IVF partition: sqrt-ish growth would make partitions huge at 1M; 4,096 keeps them small. */
const ROWS_PER_PARTITION = 4096;

/** PQ codes of at most this many bytes a row (96 at 384-d: 4-d sub-vectors; 768-d: 8-d; 1536-d: 16-d). */
const MAX_SUB_VECTORS = 96;

/**
 * The vector index and search settings for a table of `rows` vectors of `dims` (measured in
 * bench/RESULTS.md, "RAG ANN recall at 1,000,000 chunks"): IVF-PQ with about 4,096 rows per
 * partition and sub-vectors of 4 dimensions or more (at most MAX_SUB_VECTORS of them); 10% of
 * the partitions probed (at least 20, or all of a small table) and k x 20 PQ candidates
 * re-ranked on exact distances.
 */
export function vectorIndexFor(
  rows: number,
  dims: number,
): { index: VectorIndexSettings; search: VectorSearchSettings } {
  const numPartitions = Math.max(1, Math.round(rows / ROWS_PER_PARTITION));
  return {
    index: { type: "ivf_pq", numPartitions, numSubVectors: dims / subVectorWidth(dims), maxIterations: 20 },
    search: {
      nprobes: Math.min(numPartitions, Math.max(20, Math.ceil(numPartitions * 0.1))),
      refineFactor: 20,
    },
  };
}

/** The narrowest sub-vector (from 4 dimensions) that divides `dims` into at most MAX_SUB_VECTORS. */
function subVectorWidth(dims: number): number {
  for (let w = Math.min(4, dims); w < dims; w++) if (dims % w === 0 && dims / w <= MAX_SUB_VECTORS) return w;
  return Math.max(1, dims);
}

/** The settings as the LanceDB index config. */
export function lanceVectorIndex(index: typeof Index, s: VectorIndexSettings): Index {
  const distanceType = "cosine" as const;
  switch (s.type) {
    case "ivf_pq":
      return index.ivfPq({
        distanceType,
        numPartitions: s.numPartitions,
        numSubVectors: s.numSubVectors,
        maxIterations: s.maxIterations,
      });
    case "ivf_hnsw_sq":
      return index.hnswSq({
        distanceType,
        numPartitions: s.numPartitions,
        m: s.m,
        efConstruction: s.efConstruction,
      });
    case "ivf_hnsw_pq":
      return index.hnswPq({
        distanceType,
        numPartitions: s.numPartitions,
        numSubVectors: s.numSubVectors,
        m: s.m,
        efConstruction: s.efConstruction,
      });
    case "ivf_flat":
      return index.ivfFlat({ distanceType, numPartitions: s.numPartitions });
    case "ivf_rq":
      return index.ivfRq({ distanceType, numPartitions: s.numPartitions, numBits: s.numBits });
  }
}
