import { auditFirst } from "@keel/audit";
import { currentPrincipal } from "@keel/core";
import type { Update } from "@keel/metadata";
import { storePathOf } from "./artifact-pins";
import { registryErrors } from "./errors";
import { versionResource } from "./governance";
import { type ModelRecord, type ModelVersionView, type VersionRecord, validateTag } from "./records";
import { maxResults, type RegistryContext, type SearchInput } from "./registry-context";
import { type Clause, matchClause, paginate, parseFilter, parseOrderBy, sortBy } from "./search-filter";
import { validateVersionSource } from "./version-source";

const VERSION_FILTER_KEYS = ["name", "run_id", "source_path", "version_number", "current_stage"] as const;
const VERSION_ORDER_KEYS = [
  "name",
  "version_number",
  "creation_timestamp",
  "last_updated_timestamp",
  "timestamp",
];

/** What registering a version takes (MLflow's create-model-version). */
export interface NewVersionInput {
  name: string;
  source: string;
  runId?: string;
  runLink?: string;
  description?: string;
  tags?: Array<{ key: string; value: string }>;
}

/** Model versions: create (pinning and locking their files), read, update, delete, search, tags, card text. */
export class VersionService {
  constructor(private readonly ctx: RegistryContext) {}

  async createModelVersion(input: NewVersionInput): Promise<ModelVersionView> {
    const model = await this.ctx.getModel(input.name);
    if (!input.source?.trim()) throw registryErrors.invalid("model version source must be a non-empty URI");
    for (const t of input.tags ?? []) validateTag(t.key, t.value);
    validateVersionSource(input.source, input.runId ?? "");
    const runId = input.runId ?? runIdOf(input.source) ?? "";
    const storageLocation = await this.storageLocation(input.source, runId);
    const now = this.ctx.now();
    // Everything that can fail on input is checked above: a number is only taken for a write that will happen.
    const version = await this.ctx.repo.nextVersion(model, now);
    const record: VersionRecord = {
      modelId: model.id,
      version,
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      userId: currentPrincipal(),
      currentStage: "None",
      description: input.description ?? "",
      source: input.source,
      storageLocation,
      runId,
      runLink: input.runLink ?? "",
      tags: Object.fromEntries((input.tags ?? []).map((t) => [t.key, t.value])),
    };
    // From now on the version's files are immutable through every artifact API.
    const prefix = this.ctx.deps.artifacts
      ? storePathOf(storageLocation, this.ctx.deps.artifacts)
      : undefined;
    if (prefix) await this.ctx.locks.lock(prefix, { model: model.name, version });
    await this.ctx.repo.putVersion(record);
    await this.ctx.deps.audit.append({
      action: "registry.version.create",
      resource: versionResource(model.name, version),
      state: record,
    });
    await this.ctx.changed(model, [version]);
    return this.ctx.view(model, record);
  }

  /**
   * `runs:/<run_id>/<path>` resolves to the run's artifact location, so the client downloads
   * through the artifact proxy; other URIs are used as given. An unknown run is refused.
   */
  private async storageLocation(source: string, runId: string): Promise<string> {
    const m = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (runId && this.ctx.deps.runs) {
      const run = await this.ctx.governance.readRun(runId);
      if (!run) throw registryErrors.notFound(`Run with id=${runId} not found`);
      if (m)
        return m[2] ? `${run.run.info.artifact_uri.replace(/\/+$/, "")}/${m[2]}` : run.run.info.artifact_uri;
    }
    return source;
  }

  async getModelVersion(name: string, version: string | number): Promise<ModelVersionView> {
    const model = await this.ctx.getModel(name);
    return this.ctx.view(model, await this.ctx.versionOf(model, version));
  }

  async updateModelVersion(name: string, version: string | number, description: string | undefined) {
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    const updated = await this.ctx.repo.updateVersion(name, v, {
      set: [
        ["description", description ?? ""],
        ["lastUpdatedTimestamp", this.ctx.now()],
      ],
    });
    await this.ctx.deps.audit.append({
      action: "registry.version.update",
      resource: versionResource(name, v.version),
      state: { description },
    });
    await this.ctx.changed(model, [v.version]);
    return this.ctx.view(model, updated);
  }

  async deleteModelVersion(name: string, version: string | number): Promise<void> {
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    const held = await this.ctx.governance.protectedPlaces(model, [v]);
    if (held.length) {
      throw registryErrors.denied(
        `model '${name}' version ${v.version} cannot be deleted: ${held.join("; ")} (protected by the model's policy)`,
      );
    }
    await auditFirst(
      this.ctx.deps.audit,
      {
        action: "registry.version.delete",
        resource: versionResource(name, v.version),
        state: { version: v.version },
      },
      async () => {
        await this.ctx.repo.deleteVersion(name, v);
        for (const [alias, target] of Object.entries(model.aliases)) {
          if (target === v.version) await this.ctx.repo.removeAliasIf(model, alias, v.version);
        }
      },
    );
  }

  async searchModelVersions(input: SearchInput) {
    const max = maxResults(input, 10_000, 200_000);
    const clauses = parseFilter(input.filter, VERSION_FILTER_KEYS);
    const order = parseOrderBy(input.orderBy, VERSION_ORDER_KEYS);
    const nameEq = clauses.find((c) => c.key === "name" && c.op === "=");
    const models = nameEq
      ? [await this.ctx.repo.findByName(String(nameEq.value))].filter(
          (m): m is ModelRecord => m !== undefined,
        )
      : await this.ctx.repo.listModels();
    const rows: ModelVersionView[] = [];
    for (const model of models) {
      for (const v of await this.ctx.versionsOf(model))
        if (clauses.every((c) => matchVersion(c, v))) rows.push(v);
    }
    const sorted = sortBy(
      rows,
      [...order, { key: "name", descending: false }, { key: "version_number", descending: true }],
      (v, key) =>
        key === "name"
          ? v.name
          : key === "version_number"
            ? v.version
            : key === "creation_timestamp"
              ? v.creationTimestamp
              : v.lastUpdatedTimestamp,
    );
    const { page, next } = paginate(sorted, max, input.pageToken);
    return { versions: page, nextPageToken: next };
  }

  async getDownloadUri(name: string, version: string | number): Promise<string> {
    const v = await this.getModelVersion(name, version);
    return v.storageLocation || v.source;
  }

  async setVersionTag(name: string, version: string | number, key: string, value: string): Promise<void> {
    validateTag(key, value);
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    await this.ctx.repo.updateVersion(name, v, { set: [[["tags", key], value]] });
    await this.ctx.deps.audit.append({
      action: "registry.version.set_tag",
      resource: versionResource(name, v.version),
      state: { key, value },
    });
    await this.ctx.changed(model, [v.version]);
  }

  async deleteVersionTag(name: string, version: string | number, key: string): Promise<void> {
    validateTag(key);
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    if (!(key in v.tags)) return;
    await this.ctx.repo.updateVersion(name, v, { remove: [["tags", key]] });
    await this.ctx.deps.audit.append({
      action: "registry.version.delete_tag",
      resource: versionResource(name, v.version),
      state: { key },
    });
    await this.ctx.changed(model, [v.version]);
  }

  /** Records the human-written parts of the model card (intended use, limitations). */
  async setCardText(
    name: string,
    version: string | number,
    text: { intendedUse?: string; limitations?: string },
  ): Promise<ModelVersionView> {
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    const update: Update = { set: [["lastUpdatedTimestamp", this.ctx.now()]] };
    if (text.intendedUse !== undefined) update.set!.push(["intendedUse", text.intendedUse]);
    if (text.limitations !== undefined) update.set!.push(["limitations", text.limitations]);
    const updated = await this.ctx.repo.updateVersion(name, v, update);
    await this.ctx.deps.audit.append({
      action: "registry.card.update",
      resource: versionResource(name, v.version),
      state: text,
    });
    await this.ctx.changed(model, [v.version]);
    return this.ctx.view(model, updated);
  }
}

function runIdOf(source: string): string | undefined {
  return /^runs:\/([^/]+)/.exec(source)?.[1];
}

function matchVersion(c: Clause, v: ModelVersionView): boolean {
  switch (c.key) {
    case "name":
      return matchClause(c, v.name);
    case "run_id":
      return matchClause(c, v.runId);
    case "source_path":
      return matchClause(c, v.source);
    case "version_number":
      return matchClause(c, v.version);
    case "current_stage":
      return matchClause(c, v.currentStage);
    default:
      return matchClause(c, v.tags[c.key.slice(5)]);
  }
}
