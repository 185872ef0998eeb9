import { MlflowRestLogger } from "@keel/train";
import { startTestPlatform } from "../helpers/platform";
import { trackingLoggerSuite } from "./tracking-logger.suite";

/** The MLflow REST adapter against Keel's own tracking server, read back over the MLflow API. */
trackingLoggerSuite("MLflow REST against Keel", async () => {
  const p = await startTestPlatform();
  const exp = await p.call("POST", "/api/2.0/mlflow/experiments/create", { name: "tracking-logger-suite" });
  const experimentId: string = exp.json.experiment_id;
  return {
    async newRun() {
      const logger = await MlflowRestLogger.createRun(p.url, experimentId);
      const { runId } = logger.run;
      return {
        logger,
        async read() {
          const got = await p.call("GET", `/api/2.0/mlflow/runs/get?run_id=${runId}`);
          const data = got.json.run.data as {
            params?: Array<{ key: string; value: string }>;
            tags?: Array<{ key: string; value: string }>;
          };
          const toRecord = (kv: Array<{ key: string; value: string }> = []) =>
            Object.fromEntries(kv.map((x) => [x.key, x.value]));
          return {
            params: toRecord(data.params),
            tags: toRecord(data.tags),
            async metric(key: string) {
              const out: Array<{ value: number; step: number }> = [];
              let token: string | undefined;
              do {
                const q = new URLSearchParams({ run_id: runId, metric_key: key, max_results: "1000" });
                if (token) q.set("page_token", token);
                const h = await p.call("GET", `/api/2.0/mlflow/metrics/get-history?${q}`);
                for (const m of h.json.metrics ?? []) out.push({ value: m.value, step: Number(m.step) });
                token = h.json.next_page_token || undefined;
              } while (token);
              return out.sort((a, b) => a.step - b.step);
            },
            async artifact(path: string) {
              const res = await fetch(
                `${p.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`,
              );
              return res.status === 404 ? undefined : new Uint8Array(await res.arrayBuffer());
            },
          };
        },
      };
    },
    close: () => p.close(),
  };
});
