import { announce, auditFirst } from "@keel/audit";
import { aliasMarkAttribute, markSets } from "./audited-state";
import { registryErrors } from "./errors";
import { versionResource } from "./governance";
import { isProtected } from "./policy";
import {
  type ModelRecord,
  type ModelVersionView,
  parseStage,
  STAGES,
  type Stage,
  validateAlias,
  validateNewAlias,
} from "./records";
import { latest, type RegistryContext } from "./registry-context";
import { withStageLock } from "./stage-lock";
/** Where versions sit: aliases, stage transitions, and resolving a reference to a version. */
export class StageService {
  constructor(private readonly ctx: RegistryContext) {}

  /** Points an alias at a version; a protected alias needs an approved promotion. */
  async setAlias(name: string, alias: string, version: string | number): Promise<void> {
    validateNewAlias(alias);
    const model = await this.ctx.getModel(name);
    const v = await this.ctx.versionOf(model, version);
    await this.ctx.governance.authorize(model, v, { kind: "alias", alias });
    const previous = model.aliases[alias];
    // The event first: a crash after it leaves an intended change, never an unaudited alias.
    await auditFirst(
      this.ctx.deps.audit,
      {
        action: "registry.alias.set",
        resource: versionResource(name, v.version),
        state: { alias, version: v.version, previous },
      },
      async (mark) => {
        await this.ctx.repo.updateModel(model, {
          set: [
            [["aliases", alias], v.version],
            [aliasMarkAttribute(alias), mark],
            ["lastUpdatedTimestamp", this.ctx.now()],
          ],
        });
        // A version deleted between the check and the write must not keep a dangling alias.
        if (!(await this.ctx.repo.getVersion(model.id, v.version))) {
          await this.ctx.repo.removeAliasIf(model, alias, v.version);
          throw registryErrors.notFound(`Model Version (name=${name}, version=${v.version}) not found`);
        }
      },
    );
    await this.ctx.changed(model, previous ? [previous, v.version] : [v.version]);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    validateAlias(alias);
    const model = await this.ctx.getModel(name);
    const previous = model.aliases[alias];
    if (previous === undefined) return;
    if (isProtected(await this.ctx.governance.getPolicy(model.id), { kind: "alias", alias })) {
      throw registryErrors.denied(
        `alias '${alias}' of model '${name}' is protected by its policy and cannot be deleted: point it at ` +
          "another version through an approved promotion, or have two admins remove it from the policy first",
      );
    }
    await announce(this.ctx.deps.audit, {
      action: "registry.alias.delete",
      resource: versionResource(name, previous),
      state: { alias, version: previous },
    });
    await this.ctx.repo.updateModel(model, { remove: [["aliases", alias], aliasMarkAttribute(alias)] });
    await this.ctx.changed(model, [previous]);
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersionView> {
    const model = await this.ctx.getModel(name);
    const v = model.aliases[alias];
    if (v === undefined) throw registryErrors.invalid(`Registered model alias ${alias} not found.`);
    return this.ctx.view(model, await this.ctx.versionOf(model, v));
  }

  /**
   * Resolves a reference to one version: a number ("3"), an alias ("@champion" or
   * "champion"), a stage ("Production": its highest version) or "latest".
   */
  async resolve(name: string, ref: string): Promise<ModelVersionView> {
    const model = await this.ctx.getModel(name);
    const r = ref.trim();
    if (/^\d+$/.test(r)) return this.ctx.view(model, await this.ctx.versionOf(model, r));
    const versions = await this.ctx.versionsOf(model);
    if (r.toLowerCase() === "latest") {
      const top = versions.sort((a, b) => b.version - a.version)[0];
      if (!top) throw registryErrors.notFound(`Registered Model ${name} has no versions`);
      return top;
    }
    // A stage name always means the stage: an alias spelled like one (older data) cannot shadow it.
    const stage = STAGES.find((s) => s.toLowerCase() === r.toLowerCase());
    if (stage) {
      const [top] = latest(versions, [stage]);
      if (!top) throw registryErrors.notFound(`Registered Model ${name} has no version in stage '${stage}'`);
      return top;
    }
    const alias = r.startsWith("@") ? r.slice(1) : r;
    if (model.aliases[alias] !== undefined)
      return this.ctx.view(model, await this.ctx.versionOf(model, model.aliases[alias]));
    throw registryErrors.notFound(
      `'${ref}' is neither a version, an alias nor a stage of Registered Model ${name}`,
    );
  }

  /**
   * MLflow's stage transition. A protected stage needs an approved promotion; with
   * `archiveExisting`, other versions in Staging/Production move to Archived.
   */
  async transitionStage(
    name: string,
    version: string | number,
    stageInput: string,
    archiveExisting = false,
  ): Promise<ModelVersionView> {
    const stage = parseStage(stageInput);
    if (archiveExisting && stage !== "Staging" && stage !== "Production") {
      throw registryErrors.invalid(
        `archive_existing_versions only applies to the Staging and Production stages, not '${stage}'`,
      );
    }
    const model = await this.ctx.getModel(name);
    return withStageLock(this.ctx.deps.store, this.ctx.deps.clock, model.id, () =>
      this.transitionLocked(model, name, version, stage, archiveExisting),
    );
  }

  private async transitionLocked(
    model: ModelRecord,
    name: string,
    version: string | number,
    stage: Stage,
    archiveExisting: boolean,
  ): Promise<ModelVersionView> {
    const v = await this.ctx.versionOf(model, version);
    await this.ctx.governance.authorize(model, v, { kind: "stage", stage });
    const now = this.ctx.now();
    const updated = await auditFirst(
      this.ctx.deps.audit,
      {
        action: "registry.version.transition",
        resource: versionResource(name, v.version),
        state: { from: v.currentStage, to: stage, archiveExistingVersions: archiveExisting },
      },
      (mark) =>
        this.ctx.repo.updateVersion(name, v, {
          set: [["currentStage", stage], ["lastUpdatedTimestamp", now], ...markSets(mark)],
        }),
    );
    const touched = [v.version];
    if (archiveExisting) {
      for (const other of await this.ctx.repo.listVersions(model.id)) {
        if (other.version === v.version || other.currentStage !== stage) continue;
        const archiveMark = await announce(this.ctx.deps.audit, {
          action: "registry.version.transition",
          resource: versionResource(name, other.version),
          state: { from: stage, to: "Archived", archivedBy: v.version },
        });
        // A version deleted or moved meanwhile is no longer in the stage: nothing to archive.
        const archived = await this.ctx.repo
          .updateVersion(
            name,
            other,
            {
              set: [["currentStage", "Archived"], ["lastUpdatedTimestamp", now], ...markSets(archiveMark)],
            },
            { path: "currentStage", eq: stage },
          )
          .catch((e) => {
            if ((e as { code?: string }).code === "RESOURCE_DOES_NOT_EXIST") return undefined;
            throw e;
          });
        if (!archived) continue;
        touched.push(other.version);
      }
    }
    await this.ctx.changed(model, touched);
    return this.ctx.view(model, updated);
  }
}
