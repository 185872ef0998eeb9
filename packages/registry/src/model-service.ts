import { auditFirst } from "@keel/audit";
import { currentPrincipal, newId } from "@keel/core";
import {
  type ModelRecord,
  type ModelVersionView,
  parseStage,
  validateModelName,
  validateTag,
} from "./records";
import { latest, maxResults, type RegistryContext, type SearchInput } from "./registry-context";
import { matchClause, paginate, parseFilter, parseOrderBy, sortBy } from "./search-filter";
export interface RegisteredModelView {
  model: ModelRecord;
  latestVersions: ModelVersionView[];
}

const MODEL_FILTER_KEYS = ["name"] as const;
const MODEL_ORDER_KEYS = ["name", "timestamp", "last_updated_timestamp", "creation_timestamp"] as const;

/** Registered models: create, read, rename, update, delete, search, tags. */
export class ModelService {
  constructor(private readonly ctx: RegistryContext) {}

  async createRegisteredModel(input: {
    name: string;
    description?: string;
    tags?: Array<{ key: string; value: string }>;
  }): Promise<ModelRecord> {
    const name = validateModelName(input.name);
    for (const t of input.tags ?? []) validateTag(t.key, t.value);
    const now = this.ctx.now();
    const model: ModelRecord = {
      id: newId(),
      name,
      description: input.description ?? "",
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      userId: currentPrincipal(),
      tags: Object.fromEntries((input.tags ?? []).map((t) => [t.key, t.value])),
      aliases: {},
    };
    await this.ctx.repo.create(model);
    await this.ctx.deps.audit.append({
      action: "registry.model.create",
      resource: `model:${name}`,
      state: model,
    });
    return model;
  }

  async getRegisteredModel(name: string): Promise<RegisteredModelView> {
    const model = await this.ctx.getModel(name);
    return { model, latestVersions: latest(await this.ctx.versionsOf(model)) };
  }

  async renameRegisteredModel(name: string, newName: string): Promise<ModelRecord> {
    validateModelName(newName);
    const model = await this.ctx.getModel(name);
    if (newName === name) return model;
    await this.ctx.refuseIfProtected(model, "renamed");
    const renamed = await auditFirst(
      this.ctx.deps.audit,
      {
        action: "registry.model.rename",
        resource: `model:${newName}`,
        state: { id: model.id, from: name, to: newName },
      },
      (mark) => this.ctx.repo.rename(model, newName, this.ctx.now(), mark),
    );
    await this.ctx.changed(
      renamed,
      (await this.ctx.repo.listVersions(model.id)).map((v) => v.version),
    );
    return renamed;
  }

  async updateRegisteredModel(name: string, description: string | undefined): Promise<ModelRecord> {
    const model = await this.ctx.getModel(name);
    const updated = await this.ctx.repo.updateModel(model, {
      set: [
        ["description", description ?? ""],
        ["lastUpdatedTimestamp", this.ctx.now()],
      ],
    });
    await this.ctx.deps.audit.append({
      action: "registry.model.update",
      resource: `model:${name}`,
      state: { description },
    });
    return updated;
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    const model = await this.ctx.getModel(name);
    await this.ctx.refuseIfProtected(model, "deleted");
    await auditFirst(
      this.ctx.deps.audit,
      { action: "registry.model.delete", resource: `model:${name}`, state: { id: model.id } },
      () => this.ctx.repo.deleteModel(model),
    );
  }

  async searchRegisteredModels(input: SearchInput) {
    const max = maxResults(input, 100, 1000);
    const clauses = parseFilter(input.filter, MODEL_FILTER_KEYS);
    const order = parseOrderBy(input.orderBy, MODEL_ORDER_KEYS);
    const models = (await this.ctx.repo.listModels()).filter((m) =>
      clauses.every((c) => matchClause(c, c.key === "name" ? m.name : m.tags[c.key.slice(5)])),
    );
    const sorted = sortBy(models, [...order, { key: "name", descending: false }], (m, key) =>
      key === "name" ? m.name : key === "creation_timestamp" ? m.creationTimestamp : m.lastUpdatedTimestamp,
    );
    const { page, next } = paginate(sorted, max, input.pageToken);
    const views: RegisteredModelView[] = [];
    for (const model of page) views.push({ model, latestVersions: latest(await this.ctx.versionsOf(model)) });
    return { models: views, nextPageToken: next };
  }

  async getLatestVersions(name: string, stages?: string[]): Promise<ModelVersionView[]> {
    const model = await this.ctx.getModel(name);
    const wanted = stages?.length ? stages.map(parseStage) : undefined;
    return latest(await this.ctx.versionsOf(model), wanted);
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    validateTag(key, value);
    const model = await this.ctx.getModel(name);
    await this.ctx.repo.updateModel(model, { set: [[["tags", key], value]] });
    await this.ctx.deps.audit.append({
      action: "registry.model.set_tag",
      resource: `model:${name}`,
      state: { key, value },
    });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    validateTag(key);
    const model = await this.ctx.getModel(name);
    // As MLflow's SQL store: deleting an absent tag changes nothing and is not an error.
    if (!(key in model.tags)) return;
    await this.ctx.repo.updateModel(model, { remove: [["tags", key]] });
    await this.ctx.deps.audit.append({
      action: "registry.model.delete_tag",
      resource: `model:${name}`,
      state: { key },
    });
  }
}
