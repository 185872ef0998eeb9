import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@keel/artifacts";
import { compilePipeline, type LocalMachine, type PipelineDefinition, StepRuntime } from "@keel/pipelines";

/** Compiled pipelines with step runtimes (no cache, no recording): what an executor alone needs. */
export function localMachines(pipelines: PipelineDefinition[]) {
  const root = mkdtempSync(join(tmpdir(), "keel-exec-"));
  const artifacts = new FsArtifactStore(root);
  const map = new Map<string, LocalMachine>();
  for (const def of pipelines) {
    const compiled = compilePipeline(def, { validate: false });
    const runtime = new StepRuntime({ def, compiled, artifacts });
    map.set(def.name, {
      definition: compiled.definition,
      invokeTask: (state, input) => runtime.invoke(state, input),
    });
  }
  return {
    get: (name: string) => map.get(name),
    definitions: new Map([...map].map(([k, v]) => [k, v.definition])),
    close: () => rmSync(root, { recursive: true, force: true }),
  };
}
