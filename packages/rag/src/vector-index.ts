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

/**
 * The vector index and search settings for a table of `rows` vectors of `dims` (measured in
 * bench/RESULTS.md, "RAG ANN recall at 1,000,000 chunks"): IVF-PQ with sub-vectors of 8
 * dimensions (4 for narrow embeddings), about 4,096 rows per partition, a share of the
 * partitions probed (never fewer than 20) and the PQ candidates re-ranked exactly.
 */
export function vectorIndexFor(
  rows: number,
  dims: number,
): { index: VectorIndexSettings; search: VectorSearchSettings } {
  const width = dims % 8 === 0 && dims >= 64 ? 8 : dims % 4 === 0 ? 4 : dims % 2 === 0 ? 2 : 1;
  const numPartitions = Math.max(1, Math.round(rows / ROWS_PER_PARTITION));
  return {
    index: { type: "ivf_pq", numPartitions, numSubVectors: dims / width, maxIterations: 20 },
    search: searchFor(numPartitions),
  };
}

/** Probes as a share of the partitions (small tables: all of them), refine factor 30. */
function searchFor(numPartitions: number): VectorSearchSettings {
  return { nprobes: Math.min(numPartitions, Math.max(20, Math.ceil(numPartitions * 0.1))), refineFactor: 30 };
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
