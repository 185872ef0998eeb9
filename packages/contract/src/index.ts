export * from "./governance";
export * from "./mlflow-registry";
export * from "./mlflow-tracking";
export * from "./mlflow-tracking-schemas";
export * from "./mount";
export * from "./route";
