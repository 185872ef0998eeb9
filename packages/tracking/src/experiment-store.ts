import { currentPrincipal, pad } from "@keel/core";
import { type Item, isConditionFailed, type MetadataStore } from "@keel/metadata";
import { exists, invalidParam, missing } from "./errors";

/**
 * Experiments in the single table:
 *   EXP#<id> / EXP          the experiment (listed through gsi1 under EXPERIMENTS)
 *   EXPNAME#<name> / NAME   a claim on a name: a put conditional on absence makes names unique
 *   COUNTER / EXPERIMENT    the last numeric id handed out ("0" is the Default experiment)
 * A claim written without its experiment (a crash between the two puts) is taken over once it
 * is older than CLAIM_GRACE_MS, so a name is never lost for good.
 */
export interface ExperimentRecord {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: "active" | "deleted";
  creationTime: number;
  lastUpdateTime: number;
  tags: Record<string, string>;
}

const CLAIM_GRACE_MS = 60_000;
export const DEFAULT_EXPERIMENT_ID = "0";
export const DEFAULT_EXPERIMENT_NAME = "Default";

const expKey = (id: string) => ({ pk: `EXP#${id}`, sk: "EXP" });
const nameKey = (name: string) => ({ pk: `EXPNAME#${name}`, sk: "NAME" });
const COUNTER_KEY = { pk: "COUNTER", sk: "EXPERIMENT" };
const LIST_PK = "EXPERIMENTS";

function fromItem(it: Item): ExperimentRecord {
  return {
    experimentId: String(it.experimentId),
    name: String(it.name),
    artifactLocation: String(it.artifactLocation),
    lifecycleStage: it.lifecycleStage === "deleted" ? "deleted" : "active",
    creationTime: Number(it.creationTime),
    lastUpdateTime: Number(it.lastUpdateTime),
    tags: (it.tags as Record<string, string>) ?? {},
  };
}

export class ExperimentStore {
  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number,
  ) {}

  /** Hands out the next numeric experiment id. */
  async nextId(): Promise<string> {
    return String(await this.store.increment(COUNTER_KEY, "n"));
  }

  /**
   * Claims the name, then writes the experiment. Throws RESOURCE_ALREADY_EXISTS when another
   * experiment (active or deleted) holds the name.
   */
  async create(rec: ExperimentRecord): Promise<void> {
    await this.claimName(rec.name, rec.experimentId);
    await this.store.put(
      {
        ...expKey(rec.experimentId),
        kind: "experiment",
        ...rec,
        createdBy: currentPrincipal(),
        updatedBy: currentPrincipal(),
        gsi1pk: LIST_PK,
        gsi1sk: pad(Number(rec.experimentId) || 0, 20),
      },
      { condition: { exists: false } },
    );
  }

  private async claimName(name: string, experimentId: string): Promise<void> {
    const claim = { ...nameKey(name), experimentId, claimedAt: this.now(), claimedBy: currentPrincipal() };
    try {
      await this.store.put(claim, { condition: { exists: false } });
      return;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    const held = await this.store.get(nameKey(name));
    const holder = held ? await this.get(String(held.experimentId)) : undefined;
    if (held && !holder && this.now() - Number(held.claimedAt) > CLAIM_GRACE_MS) {
      try {
        await this.store.put(claim, { condition: { path: "experimentId", eq: held.experimentId } });
        return;
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
      }
    }
    if (holder?.lifecycleStage === "deleted") {
      throw exists(
        `Experiment '${name}' already exists in deleted state. You can restore the experiment, or ` +
          "permanently delete the experiment to create a new one.",
      );
    }
    throw exists(`Experiment '${name}' already exists.`);
  }

  async get(id: string): Promise<ExperimentRecord | undefined> {
    const it = await this.store.get(expKey(id));
    return it ? fromItem(it) : undefined;
  }

  async mustGet(id: string): Promise<ExperimentRecord> {
    const rec = await this.get(id);
    if (!rec) throw missing(`Could not find experiment with ID ${id}`);
    return rec;
  }

  async getByName(name: string): Promise<ExperimentRecord | undefined> {
    const claim = await this.store.get(nameKey(name));
    if (!claim) return undefined;
    const rec = await this.get(String(claim.experimentId));
    return rec && rec.name === name ? rec : undefined;
  }

  async list(): Promise<ExperimentRecord[]> {
    const items = await this.store.queryAll({ pk: LIST_PK, index: "gsi1" });
    return items.map(fromItem);
  }

  /** Sets the lifecycle stage; throws INVALID_PARAMETER_VALUE when it already has it. */
  async setLifecycle(id: string, stage: "active" | "deleted"): Promise<ExperimentRecord> {
    const rec = await this.mustGet(id);
    try {
      const it = await this.store.update(
        expKey(id),
        {
          set: [
            ["lifecycleStage", stage],
            ["lastUpdateTime", this.now()],
            ["updatedBy", currentPrincipal()],
          ],
        },
        { condition: { path: "lifecycleStage", ne: stage } },
      );
      return fromItem(it);
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      throw invalidParam(
        `Cannot ${stage === "deleted" ? "delete" : "restore"} experiment ${id}: it is already ${rec.lifecycleStage}.`,
      );
    }
  }

  /** Renames: claims the new name, moves the experiment under the lock of its current name, releases the old. */
  async rename(id: string, newName: string): Promise<ExperimentRecord> {
    const rec = await this.mustGet(id);
    if (rec.lifecycleStage !== "active") {
      throw invalidParam(
        `Cannot rename a non-active experiment. The experiment ${id} must be in the 'active' state.`,
      );
    }
    if (rec.name === newName) return rec;
    await this.claimName(newName, id);
    let updated: Item;
    try {
      updated = await this.store.update(
        expKey(id),
        {
          set: [
            ["name", newName],
            ["lastUpdateTime", this.now()],
            ["updatedBy", currentPrincipal()],
          ],
        },
        { condition: { path: "name", eq: rec.name } },
      );
    } catch (e) {
      // Someone renamed it first: give back the name this call claimed.
      await this.store
        .delete(nameKey(newName), { condition: { path: "experimentId", eq: id } })
        .catch(() => undefined);
      if (isConditionFailed(e)) throw invalidParam(`Experiment ${id} was renamed concurrently; retry.`);
      throw e;
    }
    await this.store.delete(nameKey(rec.name), { condition: { path: "experimentId", eq: id } }).catch((e) => {
      if (!isConditionFailed(e)) throw e;
    });
    return fromItem(updated);
  }

  /** Sets or removes one tag of an active experiment. */
  async updateTag(id: string, key: string, value: string | undefined): Promise<void> {
    const rec = await this.mustGet(id);
    if (rec.lifecycleStage !== "active") {
      throw invalidParam(
        `The experiment ${id} must be in the 'active' state. Current state is ${rec.lifecycleStage}.`,
      );
    }
    if (value === undefined && !(key in rec.tags)) {
      throw missing(`No tag with name: ${key} in experiment with id ${id}`);
    }
    const common = {
      set: [
        ["lastUpdateTime", this.now()] as [string, unknown],
        ["updatedBy", currentPrincipal()] as [string, unknown],
      ],
    };
    await this.store.update(
      expKey(id),
      value === undefined
        ? { ...common, remove: [["tags", key]] }
        : { set: [...common.set, [["tags", key], value]] },
      { condition: { path: "lifecycleStage", eq: "active" } },
    );
  }

  /**
   * Creates the Default experiment "0" once. Idempotent and safe to race: both puts are
   * conditional on absence and a lost race is success.
   */
  async ensureDefault(artifactLocation: string): Promise<void> {
    if (await this.store.get(expKey(DEFAULT_EXPERIMENT_ID))) return;
    const t = this.now();
    try {
      await this.create({
        experimentId: DEFAULT_EXPERIMENT_ID,
        name: DEFAULT_EXPERIMENT_NAME,
        artifactLocation,
        lifecycleStage: "active",
        creationTime: t,
        lastUpdateTime: t,
        tags: {},
      });
    } catch (e) {
      if ((e as { code?: string }).code === "RESOURCE_ALREADY_EXISTS" || isConditionFailed(e)) return;
      throw e;
    }
  }
}
