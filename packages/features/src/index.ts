export { type ApiPathRoots, apiPathRoots, offlineRootOf, outputPath, readablePath } from "./api-paths";
export { FeatureCatalog, outputName, type ResolvedView, type ViewSelection } from "./catalog";
export {
  type ConsistencyReport,
  type ConsistencyRequest,
  checkConsistency,
  type FeatureConsistency,
} from "./consistency";
export * from "./definitions";
export { FeaturesError } from "./errors";
export { createFeaturesModule, type FeaturesDeps, type FeaturesModule } from "./features-module";
export { FeaturesService } from "./features-service";
export { getHistoricalFeatures, type HistoricalRequest, type HistoricalResult } from "./historical";
export type { MaterializeProgress, MaterializeRequest, MaterializeViewResult } from "./materialize";
export { type AthenaOfflineOptions, AthenaOfflineStore } from "./offline/athena-store";
export { type DuckDbOfflineOptions, DuckDbOfflineStore } from "./offline/duckdb-store";
export { rowsToParquet } from "./offline/parquet-rows";
export { buildLatestSql, buildPitSql } from "./offline/pit-sql";
export type { AppendColumn, EntitySource, JoinOutput, OfflineStore, Row, SqlColumn } from "./offline/port";
export { secretCredentials } from "./online/cql-credentials";
export { type CqlOnlineOptions, CqlOnlineStore } from "./online/cql-store";
export { type CqlTlsOptions, contactHost, cqlTransport, isLoopbackHost } from "./online/cql-tls";
export { type DynamoDbOnlineOptions, DynamoDbOnlineStore } from "./online/dynamodb-store";
export type {
  OnlineRecord,
  OnlineStore,
  OnlineViewInfo,
  OnlineWrite,
  OnlineWriteResult,
} from "./online/port";
export { CachedOnlineStore, READ_CACHE_ENTRIES } from "./online/read-cache";
export {
  type FieldStatus,
  getOnlineFeatures,
  type OnlineRequest,
  type OnlineResponse,
  onlineResponseToRows,
} from "./online-serving";
export type { PushRequest, PushResult } from "./push";
export { type ApplyResult, type DefinitionChange, diffRepos, FeatureRegistry } from "./registry";
export { loadRepoDir, repoFromDefinitions } from "./repo-loader";
export {
  createOfflineStore,
  createOnlineStore,
  ONLINE_TABLE_SUFFIX,
} from "./stores-factory";
export { encodeEntityKey } from "./values";
