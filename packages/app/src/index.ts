export { createApp } from "./app";
export * from "./module";
export { createPlatform, type Platform, type PlatformOptions } from "./platform";
export { principalFromHeaders } from "./principal-middleware";
export { type RequestGuardOptions, requestGuards } from "./request-guards";
