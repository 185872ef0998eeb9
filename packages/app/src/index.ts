export * from "./module";
export { createApp } from "./app";
export { createPlatform, type Platform, type PlatformOptions } from "./platform";
export { principalFromHeaders } from "./principal-middleware";
