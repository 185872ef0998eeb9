import type { Scorer, ScorerRequest } from "@keel/contract";
import type { Item, MetadataStore } from "@keel/metadata";
import { activeExperiment } from "../artifact-scope";
import { missing, missingParam } from "../errors";
import type { TrackingContext } from "../tracking-context";

const versionKey = (v: number) => String(v).padStart(10, "0");
const scorerKey = (exp: string, name: string, v: number) => ({
  pk: `SCORER#${exp}#${name}`,
  sk: `V#${versionKey(v)}`,
});
const scorersOf = (exp: string) => `EXPSCORERS#${exp}`;

const required = (v: string | undefined, name: string): string => {
  if (!v) throw missingParam(name);
  return v;
};

function scorerJson(it: Item): Scorer {
  return {
    experiment_id: Number(it.experimentId),
    scorer_name: it.name as string,
    scorer_version: it.version as number,
    serialized_scorer: it.serialized as string,
    creation_time: it.creationTime as number,
  };
}

/**
 * MLflow 3's scorers: serialized judges registered per experiment and name, each registration a
 * new version (numbered by an atomic counter); one item per version, listed through gsi1.
 */
export class ScorerService {
  private readonly store: MetadataStore;

  constructor(private readonly ctx: TrackingContext) {
    this.store = ctx.deps.store;
  }

  private async versions(exp: string, name?: string): Promise<Item[]> {
    return this.store.queryAll({
      pk: scorersOf(exp),
      index: "gsi1",
      prefix: name === undefined ? undefined : `${name}#`,
    });
  }

  async register(r: ScorerRequest): Promise<{ version: number }> {
    const exp = required(r.experiment_id, "experiment_id");
    const name = required(r.name, "name");
    const serialized = required(r.serialized_scorer, "serialized_scorer");
    await activeExperiment(this.ctx, exp);
    const version = await this.store.increment({ pk: `SCORER#${exp}#${name}`, sk: "SEQ" }, "next");
    await this.store.put({
      ...scorerKey(exp, name, version),
      gsi1pk: scorersOf(exp),
      gsi1sk: `${name}#${versionKey(version)}`,
      experimentId: exp,
      name,
      version,
      serialized,
      creationTime: this.ctx.now(),
    });
    return { version };
  }

  async list(r: ScorerRequest): Promise<{ scorers?: Scorer[] }> {
    const latest = new Map<string, Item>();
    for (const it of await this.versions(required(r.experiment_id, "experiment_id")))
      latest.set(it.name as string, it);
    return { scorers: [...latest.values()].map(scorerJson) };
  }

  async listVersions(r: ScorerRequest): Promise<{ scorers?: Scorer[] }> {
    const items = await this.versions(required(r.experiment_id, "experiment_id"), required(r.name, "name"));
    return { scorers: items.map(scorerJson) };
  }

  async get(r: ScorerRequest): Promise<{ scorer: Scorer }> {
    const exp = required(r.experiment_id, "experiment_id");
    const name = required(r.name, "name");
    const items = await this.versions(exp, name);
    const found = r.version === undefined ? items.at(-1) : items.find((it) => it.version === r.version);
    if (!found) {
      throw missing(
        `Scorer with name '${name}'${r.version === undefined ? "" : ` and version ${r.version}`} not found for experiment ${exp}.`,
      );
    }
    return { scorer: scorerJson(found) };
  }

  async delete(r: ScorerRequest): Promise<Record<string, never>> {
    const exp = required(r.experiment_id, "experiment_id");
    const name = required(r.name, "name");
    const items = (await this.versions(exp, name)).filter(
      (it) => r.version === undefined || it.version === r.version,
    );
    if (items.length === 0) throw missing(`Scorer with name '${name}' not found for experiment ${exp}.`);
    await this.store.batchDelete(items.map((it) => ({ pk: it.pk, sk: it.sk })));
    return {};
  }
}
