import { type Rng, trialRng } from "../rng";
import {
  fromInternal,
  internalBounds,
  isActive,
  type ParameterSpec,
  type Params,
  type ParamValue,
  sampleParam,
  sampleSpace,
  toInternal,
} from "../space";
import { CategoricalEstimator, ParzenEstimator } from "./parzen";
import type { Observation, SearchAlgorithm, SuggestRequest } from "./port";

export interface TpeOptions {
  /** Trials drawn at random before the estimators take over (default 10). */
  startupTrials?: number;
  /** Share of the finished trials that are "good" (default 0.25), at most `maxGood` of them. */
  gamma?: number;
  maxGood?: number;
  /** Candidates drawn from l(x) per parameter; the one with the highest l(x)/g(x) wins (default 24). */
  candidates?: number;
  /** Weight of the prior component in every estimator (default 1). */
  priorWeight?: number;
}

/**
 * The tree-structured Parzen estimator (Bergstra et al. 2011), univariate as in Hyperopt and
 * Optuna: the finished trials are split by loss into the best `gamma` share (good) and the
 * rest (bad); per parameter, a Parzen estimator l(x) over the good values and g(x) over the
 * bad ones; `candidates` values are drawn from l and the one maximizing l(x)/g(x) (which
 * maximizes expected improvement) is chosen. Parameters are visited in declaration order, so a
 * conditional parameter is modelled only on the trials where it existed ("tree-structured").
 */
export class TpeSearch implements SearchAlgorithm {
  readonly name = "tpe";
  private readonly o: Required<TpeOptions>;

  constructor(opts: TpeOptions = {}) {
    this.o = { startupTrials: 10, gamma: 0.25, maxGood: 25, candidates: 24, priorWeight: 1, ...opts };
  }

  suggest(req: SuggestRequest): Params[] {
    const done = req.history
      .filter((o): o is Observation & { loss: number } => o.loss !== undefined && Number.isFinite(o.loss))
      .sort((a, b) => a.loss - b.loss || a.number - b.number);
    if (done.length < Math.max(1, this.o.startupTrials))
      return req.numbers.map((n) => sampleSpace(req.space, trialRng(req.seed, n)));
    const nGood = Math.min(this.o.maxGood, Math.max(1, Math.ceil(this.o.gamma * done.length)));
    const good = done.slice(0, nGood);
    const bad = done.slice(nGood);
    return req.numbers.map((n) => {
      const rng = trialRng(req.seed, n, 1);
      const out: Params = {};
      for (const [name, spec] of Object.entries(req.space)) {
        if (!isActive(spec, out)) continue;
        const g = good.filter((o) => name in o.params).map((o) => o.params[name]);
        const b = bad.filter((o) => name in o.params).map((o) => o.params[name]);
        out[name] = g.length ? this.pick(spec, g, b, rng) : sampleParam(spec, rng);
      }
      return out;
    });
  }

  private pick(spec: ParameterSpec, good: ParamValue[], bad: ParamValue[], rng: Rng): ParamValue {
    if (spec.type === "choice") {
      const count = (vals: ParamValue[]) => spec.values.map((v) => vals.filter((x) => x === v).length);
      const l = new CategoricalEstimator(count(good), this.o.priorWeight);
      const g = new CategoricalEstimator(count(bad), this.o.priorWeight);
      return spec.values[
        this.best(
          () => l.sample(rng),
          (i) => l.logPdf(i) - g.logPdf(i),
        )
      ];
    }
    const [lo, hi] = internalBounds(spec);
    const l = new ParzenEstimator(
      good.map((v) => toInternal(spec, v as number)),
      lo,
      hi,
      this.o.priorWeight,
    );
    const g = new ParzenEstimator(
      bad.map((v) => toInternal(spec, v as number)),
      lo,
      hi,
      this.o.priorWeight,
    );
    return fromInternal(
      spec,
      this.best(
        () => l.sample(rng),
        (x) => l.logPdf(x) - g.logPdf(x),
      ),
    );
  }

  /** The candidate with the highest score among `candidates` draws. */
  private best(draw: () => number, score: (x: number) => number): number {
    let bestX = draw();
    let bestS = score(bestX);
    for (let i = 1; i < this.o.candidates; i++) {
      const x = draw();
      const s = score(x);
      if (s > bestS) {
        bestX = x;
        bestS = s;
      }
    }
    return bestX;
  }
}
