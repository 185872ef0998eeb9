export * from "./clock";
export * from "./config";
export * from "./errors";
export * from "./hash";
export * from "./http";
export * from "./ids";
export * from "./log";
export * from "./principal";
