import type { TuningSpec } from "../definition";
import { AshaRule } from "../stopping/asha";
import { MedianStoppingRule } from "../stopping/median";
import type { StoppingRule } from "../stopping/port";
import { GridSearch } from "./grid";
import type { SearchAlgorithm } from "./port";
import { RandomSearch } from "./random";
import { TpeSearch } from "./tpe";

/** The search algorithm a spec names (ASHA and Hyperband sample at random; their rule stops trials). */
export function algorithmFor(spec: Pick<TuningSpec, "algorithm">): SearchAlgorithm {
  const a = spec.algorithm;
  switch (a.name) {
    case "grid":
      return new GridSearch("points" in a ? a.points : 5);
    case "tpe":
      return new TpeSearch("startupTrials" in a ? a : {});
    default:
      return new RandomSearch();
  }
}

/** The early-stopping rule of a spec; Hyperband without explicit brackets gets floor(log_eta(R/r)) + 1. */
export function stoppingRuleFor(
  spec: Pick<TuningSpec, "algorithm" | "earlyStopping">,
): StoppingRule | undefined {
  const es = spec.earlyStopping;
  if (!es) return undefined;
  if (es.rule === "median") return new MedianStoppingRule(es);
  const eta = es.reductionFactor;
  const brackets =
    spec.algorithm.name === "hyperband" && es.brackets === 1
      ? Math.floor(Math.log(es.maxBudget / es.minBudget) / Math.log(eta) + 1e-9) + 1
      : es.brackets;
  return new AshaRule({ ...es, reductionFactor: eta, brackets });
}
