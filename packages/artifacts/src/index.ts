export * from "./port";
export { ArtifactError, normalizePath } from "./errors";
export { FsArtifactStore } from "./fs-store";
export { createArtifactStore } from "./factory";
