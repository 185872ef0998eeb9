import { trialRng } from "../rng";
import { sampleSpace } from "../space";
import type { SearchAlgorithm, SuggestRequest } from "./port";

/** Random search: each trial's configuration drawn from the priors with its own seeded generator. */
export class RandomSearch implements SearchAlgorithm {
  readonly name = "random";
  suggest(req: SuggestRequest) {
    return req.numbers.map((n) => sampleSpace(req.space, trialRng(req.seed, n)));
  }
}
