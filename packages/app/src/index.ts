export { createApp } from "./app";
export * from "./module";
export { createPlatform, type Platform, type PlatformOptions } from "./platform";
