import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@keel/artifacts";
import { StoreAuditLog } from "@keel/audit";
import { createLogger, systemClock } from "@keel/core";
import { PipelineService, type PipelineServiceDeps } from "@keel/pipelines";
import { freshMetadataStore } from "../helpers/metadata";

/** A pipeline service on a real dynalite store and a temporary artifact root, for one test file. */
export async function startPipelineHarness(opts: Partial<PipelineServiceDeps> = {}) {
  const meta = await freshMetadataStore();
  const root = mkdtempSync(join(tmpdir(), "keel-pipelines-"));
  const artifacts = new FsArtifactStore(root);
  const audit = new StoreAuditLog(meta.store, systemClock);
  const service = new PipelineService({
    store: meta.store,
    artifacts,
    audit,
    clock: systemClock,
    log: createLogger("silent"),
    retryIntervalMs: 0,
    ...opts,
  });
  return {
    service,
    store: meta.store,
    artifacts,
    audit,
    close: async () => {
      await service.close();
      await meta.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
