export { DataDirInUseError, type DataDirLock, lockDataDir, processAlive } from "./data-dir-lock";
export { type LocalOptions, type LocalPlatform, startLocalPlatform } from "./local-platform";
