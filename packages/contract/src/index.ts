export * from "./governance";
export * from "./mlflow-artifacts";
export * from "./mlflow-registry";
export * from "./mlflow-tracking";
export * from "./mlflow-tracking-schemas";
export * from "./mount";
export * from "./pipelines";
export * from "./route";
