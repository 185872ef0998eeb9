export { type LocalOptions, type LocalPlatform, startLocalPlatform } from "./local-platform";
