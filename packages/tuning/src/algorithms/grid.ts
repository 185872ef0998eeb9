import { canonicalJson } from "@keel/core";
import { gridOf, type Params, type Space } from "../space";
import type { SearchAlgorithm, SuggestRequest } from "./port";

/**
 * Grid search: every combination, in declaration order; continuous ranges get `points` values
 * (log-spaced where log-scaled). Trial n takes the n-th configuration not tried yet, so a retried
 * or resumed experiment never repeats one; when all are taken it suggests nothing.
 */
export class GridSearch implements SearchAlgorithm {
  readonly name = "grid";
  private cache?: { space: Space; grid: Params[] };
  constructor(private readonly points = 5) {}

  size(space: Space): number {
    return this.grid(space).length;
  }

  private grid(space: Space): Params[] {
    if (this.cache?.space !== space) this.cache = { space, grid: gridOf(space, this.points) };
    return this.cache.grid;
  }

  suggest(req: SuggestRequest) {
    const taken = new Set(req.history.map((o) => canonicalJson(o.params)));
    const out: Params[] = [];
    for (const p of this.grid(req.space)) {
      if (out.length >= req.numbers.length) break;
      const key = canonicalJson(p);
      if (taken.has(key)) continue;
      taken.add(key);
      out.push(p);
    }
    return out;
  }
}
