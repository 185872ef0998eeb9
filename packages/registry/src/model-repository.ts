import { type Clock, pad } from "@keel/core";
import {
  type Condition,
  type Item,
  isConditionFailed,
  type Key,
  type MetadataStore,
  type Path,
  type Update,
} from "@keel/metadata";
import { registryErrors } from "./errors";
import type { ModelRecord, VersionRecord } from "./records";

/**
 * The registry's items in the single table. A model lives under its immutable id
 * (`RM#<id>`: the model item, its versions, policy and grants), and a separate name-claim item
 * (`RMNAME#<name>`) points at the id. Creating or renaming a model claims the name with a
 * conditional put, so names are unique without transactions, and a rename moves one pointer
 * instead of every version and alias.
 *
 * A claim is only trusted when the model it points at carries the same name: a rename that
 * stopped half-way (new claim written, model not yet renamed) leaves a claim nobody reads,
 * which a later create of that name may take over once it is older than STALE_CLAIM_MS.
 */
export const MODEL_SK = "MODEL";
const NAMES_INDEX_PK = "RMNAMES";
const STALE_CLAIM_MS = 60_000;

export const modelKey = (id: string): Key => ({ pk: `RM#${id}`, sk: MODEL_SK });
const nameKey = (name: string): Key => ({ pk: `RMNAME#${name}`, sk: "NAME" });
export const versionKey = (id: string, version: number): Key => ({
  pk: `RM#${id}`,
  sk: `V#${pad(version, 10)}`,
});

/** Drops the storage keys so a record is what the domain sees. */
export function record<T>(item: Item): T {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, gsi2pk: _c, gsi2sk: _d, ...rest } = item;
  return rest as T;
}

/** The fields naming the audit event of an item's last governed change (written before it). */
export function markEntries(mark: { auditSeq: number; changeId: string }): Array<[Path, unknown]> {
  return [
    ["lastAuditSeq", mark.auditSeq],
    ["lastChangeId", mark.changeId],
  ];
}

export class ModelRepository {
  constructor(
    readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** The model currently named `name`, or undefined. */
  async findByName(name: string): Promise<ModelRecord | undefined> {
    const claim = await this.store.get(nameKey(name));
    if (!claim) return undefined;
    const model = await this.getById(String(claim.modelId));
    return model && model.name === name ? model : undefined;
  }

  async getByName(name: string): Promise<ModelRecord> {
    const model = await this.findByName(name);
    if (!model) throw registryErrors.notFound(`Registered Model with name=${name} not found`);
    return model;
  }

  async getById(id: string): Promise<ModelRecord | undefined> {
    const it = await this.store.get(modelKey(id));
    return it ? record<ModelRecord>(it) : undefined;
  }

  /** Writes the model, then claims its name; on a taken name the model item is removed again. */
  async create(model: ModelRecord): Promise<void> {
    await this.store.put(
      { ...modelKey(model.id), ...model, versionCounter: 0 },
      { condition: { exists: false } },
    );
    try {
      await this.claimName(model.name, model.id);
    } catch (e) {
      await this.store.delete(modelKey(model.id));
      throw e;
    }
  }

  private async claimName(name: string, modelId: string): Promise<void> {
    const claim = {
      ...nameKey(name),
      modelId,
      claimedAt: this.clock.now(),
      gsi1pk: NAMES_INDEX_PK,
      gsi1sk: name,
    };
    try {
      await this.store.put(claim, { condition: { exists: false } });
      return;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
    const existing = await this.store.get(nameKey(name));
    const owner = existing ? await this.getById(String(existing.modelId)) : undefined;
    const stale =
      existing &&
      (!owner || owner.name !== name) &&
      this.clock.now() - Number(existing.claimedAt ?? 0) > STALE_CLAIM_MS;
    if (!stale) throw registryErrors.exists(`Registered Model (name=${name}) already exists.`);
    try {
      await this.store.put(claim, { condition: { path: "modelId", eq: existing.modelId } });
    } catch (e) {
      if (isConditionFailed(e))
        throw registryErrors.exists(`Registered Model (name=${name}) already exists.`);
      throw e;
    }
  }

  /** Claims the new name, renames the model (only if nobody renamed it meanwhile), releases the old name. */
  async rename(
    model: ModelRecord,
    newName: string,
    now: number,
    mark?: { auditSeq: number; changeId: string },
  ): Promise<ModelRecord> {
    await this.claimName(newName, model.id);
    let updated: Item;
    try {
      updated = await this.store.update(
        modelKey(model.id),
        {
          set: [
            ["name", newName],
            ["lastUpdatedTimestamp", now],
            // The mark of the rename's audit event, written before it.
            ...(mark ? markEntries(mark) : []),
          ],
        },
        { condition: { path: "name", eq: model.name } },
      );
    } catch (e) {
      await this.store.delete(nameKey(newName), { condition: { path: "modelId", eq: model.id } });
      if (isConditionFailed(e))
        throw registryErrors.conflict(`Registered Model ${model.name} changed concurrently; retry`);
      throw e;
    }
    await this.store.delete(nameKey(model.name), { condition: { path: "modelId", eq: model.id } });
    return record<ModelRecord>(updated);
  }

  /** Updates the model item; fails with RESOURCE_DOES_NOT_EXIST if it was deleted meanwhile. */
  async updateModel(model: ModelRecord, update: Update, extra?: Condition): Promise<ModelRecord> {
    const condition: Condition = { path: "name", eq: model.name };
    try {
      const it = await this.store.update(modelKey(model.id), update, {
        condition: extra ? { and: [condition, extra] } : condition,
      });
      return record<ModelRecord>(it);
    } catch (e) {
      if (isConditionFailed(e))
        throw registryErrors.conflict(`Registered Model ${model.name} changed concurrently; retry`);
      throw e;
    }
  }

  /**
   * Removes an alias only while it still names `version` (someone may have re-pointed it);
   * returns whether it was removed.
   */
  async removeAliasIf(model: ModelRecord, alias: string, version: number): Promise<boolean> {
    try {
      await this.store.update(
        modelKey(model.id),
        { remove: [["aliases", alias]] },
        { condition: { path: ["aliases", alias], eq: version } },
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** Releases the name first (the model disappears for readers), then removes everything under its id. */
  async deleteModel(model: ModelRecord): Promise<void> {
    await this.store.delete(nameKey(model.name), { condition: { path: "modelId", eq: model.id } });
    const items = await this.store.queryAll({ pk: `RM#${model.id}` });
    await this.store.batchDelete(items.map((it) => ({ pk: it.pk, sk: it.sk })));
  }

  /** Every model that owns its name, in name order. */
  async listModels(): Promise<ModelRecord[]> {
    const claims = await this.store.queryAll({ pk: NAMES_INDEX_PK, index: "gsi1" });
    const items = await this.store.batchGet(claims.map((c) => modelKey(String(c.modelId))));
    const byId = new Map(items.map((it) => [String(it.id), record<ModelRecord>(it)]));
    const out: ModelRecord[] = [];
    for (const c of claims) {
      const m = byId.get(String(c.modelId));
      if (m && m.name === c.gsi1sk) out.push(m);
    }
    return out;
  }

  /**
   * Reserves the next version number with an atomic counter on the model item. Numbers are
   * unique and consecutive across concurrent callers; the condition keeps a concurrently
   * deleted model from being resurrected as a bare counter item.
   */
  async nextVersion(model: ModelRecord, now: number): Promise<number> {
    const it = await this.updateModel(model, {
      add: [["versionCounter", 1]],
      set: [["lastUpdatedTimestamp", now]],
    });
    return Number((it as unknown as { versionCounter: number }).versionCounter);
  }

  async putVersion(v: VersionRecord): Promise<void> {
    await this.store.put({ ...versionKey(v.modelId, v.version), ...v }, { condition: { exists: false } });
  }

  async getVersion(modelId: string, version: number): Promise<VersionRecord | undefined> {
    const it = await this.store.get(versionKey(modelId, version));
    return it && !it.deleting ? record<VersionRecord>(it) : undefined;
  }

  async listVersions(modelId: string): Promise<VersionRecord[]> {
    const items = await this.store.queryAll({ pk: `RM#${modelId}`, prefix: "V#" });
    return items.filter((it) => !it.deleting).map((it) => record<VersionRecord>(it));
  }

  /** Updates a version that exists and is not being deleted; RESOURCE_DOES_NOT_EXIST otherwise. */
  async updateVersion(
    modelName: string,
    v: VersionRecord,
    update: Update,
    extra?: Condition,
  ): Promise<VersionRecord> {
    const live: Condition = {
      and: [
        { path: "version", exists: true },
        { path: "deleting", exists: false },
      ],
    };
    try {
      const it = await this.store.update(versionKey(v.modelId, v.version), update, {
        condition: extra ? { and: [live, extra] } : live,
      });
      return record<VersionRecord>(it);
    } catch (e) {
      if (isConditionFailed(e)) {
        throw registryErrors.notFound(`Model Version (name=${modelName}, version=${v.version}) not found`);
      }
      throw e;
    }
  }

  /** Marks the version as going away (readers stop seeing it), then deletes it and its grants. */
  async deleteVersion(modelName: string, v: VersionRecord): Promise<void> {
    await this.updateVersion(modelName, v, { set: [["deleting", true]] });
    const grants = await this.store.queryAll({
      pk: `RM#${v.modelId}`,
      prefix: `GRANT#${pad(v.version, 10)}#`,
    });
    await this.store.batchDelete([
      versionKey(v.modelId, v.version),
      ...grants.map((g) => ({ pk: g.pk, sk: g.sk })),
    ]);
  }
}
