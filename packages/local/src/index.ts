export { startLocalPlatform, type LocalOptions, type LocalPlatform } from "./local-platform";
