import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { ArtifactStore } from "@keel/artifacts";
import { StepFailure } from "./errors";

/**
 * Runs a container step on this machine: the command as a child process (no image is pulled)
 * with the same environment SageMaker would give the container. Like SageMaker's
 * /opt/ml/model, whatever the process writes under `$SM_MODEL_DIR` is uploaded to the artifact
 * store and its URI becomes the step's `artifactUri`.
 */
export async function runContainerProcess(opts: {
  command: string[];
  env: Record<string, string>;
  timeoutSeconds: number;
  artifacts: ArtifactStore;
  modelPath: string;
  log(line: string): void;
}): Promise<{ artifactUri: string }> {
  const modelDir = await mkdtemp(join(tmpdir(), "keel-model-"));
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(opts.command[0], opts.command.slice(1), {
        env: { ...process.env, ...opts.env, SM_MODEL_DIR: modelDir, KEEL_MODEL_DIR: modelDir },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: opts.timeoutSeconds * 1000,
        killSignal: "SIGKILL",
      });
      const lines = (prefix: string) => {
        let rest = "";
        return (chunk: Buffer) => {
          const parts = (rest + chunk.toString("utf8")).split("\n");
          rest = parts.pop() ?? "";
          for (const p of parts) opts.log(`${prefix}${p}`);
        };
      };
      child.stdout.on("data", lines(""));
      child.stderr.on("data", lines("[stderr] "));
      child.once("error", (e) =>
        reject(new StepFailure("Keel.ContainerFailed", `cannot start ${opts.command[0]}: ${e.message}`)),
      );
      child.once("close", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    if (code !== 0)
      throw new StepFailure("Keel.ContainerFailed", `${opts.command.join(" ")} exited with code ${code}`);
    for (const file of await listFiles(modelDir)) {
      await opts.artifacts.put(
        `${opts.modelPath}/${relative(modelDir, file).split("\\").join("/")}`,
        await readFile(file),
      );
    }
    return { artifactUri: opts.artifacts.uri(opts.modelPath) };
  } finally {
    await rm(modelDir, { recursive: true, force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}
