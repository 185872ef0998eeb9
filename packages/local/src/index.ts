export { DataDirInUseError, type DataDirLock, lockDataDir } from "./data-dir-lock";
export { type LocalOptions, type LocalPlatform, startLocalPlatform } from "./local-platform";
