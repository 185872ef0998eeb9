// The MLflow tracking request and entity schemas live in the API contract (validated at the route edge).
export * from "@keel/contract/mlflow-tracking-schemas";
