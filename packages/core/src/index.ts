export * from "./errors";
export * from "./ids";
export * from "./clock";
export * from "./log";
export * from "./principal";
export * from "./config";
export * from "./hash";
export * from "./http";
