/**
 * A seeded pseudo-random generator (mulberry32). Training draws every random choice
 * (row subsampling, validation split, profile samples) from one of these so that the same
 * seed gives bit-identical models on any machine.
 */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** k distinct indices of [0, n), in increasing order (Floyd's algorithm would reorder; this keeps scans sequential). */
  sample(n: number, k: number): Uint32Array {
    if (k >= n) return Uint32Array.from({ length: n }, (_, i) => i);
    // Selection sampling (Knuth's algorithm S): one pass, sorted output, exactly k picks.
    const out = new Uint32Array(k);
    let picked = 0;
    for (let i = 0; i < n && picked < k; i++) {
      if ((n - i) * this.next() < k - picked) out[picked++] = i;
    }
    return out;
  }
}
