import { Random } from "@keel/train";

/**
 * The tuner's seeded generator: the trainers' mulberry32 plus the draws search needs. Every
 * suggestion draws from a generator seeded by (experiment seed, trial number), so a trial's
 * suggestion does not depend on how many others were asked for before it, nor on a restart.
 */
export class Rng extends Random {
  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** An index drawn with probability proportional to `weights`. */
  weighted(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A generator for one trial of one experiment, seeded by a hash of (seed, trial, stream). */
export function trialRng(seed: number, trial: number, stream = 0): Rng {
  let h = fmix32(seed ^ 0x9e3779b9);
  h = fmix32((h + Math.imul(trial + 1, 0x9e3779b9)) >>> 0);
  h = fmix32((h + Math.imul(stream + 1, 0x7f4a7c15)) >>> 0);
  return new Rng(h);
}
