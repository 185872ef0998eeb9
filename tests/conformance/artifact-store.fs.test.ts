import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsArtifactStore } from "@keel/artifacts";
import { artifactStoreSuite } from "./artifact-store.suite";

artifactStoreSuite("filesystem", async () => {
  const root = await mkdtemp(join(tmpdir(), "keel-artifacts-"));
  return { store: new FsArtifactStore(root), close: () => rm(root, { recursive: true, force: true }) };
});
