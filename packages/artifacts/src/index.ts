export { ArtifactError, normalizePath, withoutDotSegments } from "./errors";
export { type ArtifactStoreOptions, createArtifactStore } from "./factory";
export { FsArtifactStore } from "./fs-store";
export * from "./port";
export {
  type ArtifactAudit,
  type ArtifactLockPort,
  ArtifactProxyService,
  RESTRICTED_PREFIXES,
} from "./proxy-service";
export { type ArtifactsModuleDeps, createArtifactsModule } from "./routes";
export { parseS3Root, S3ArtifactStore, type S3ArtifactStoreOptions } from "./s3-store";
