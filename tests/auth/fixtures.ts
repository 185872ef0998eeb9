import type { startTestPlatform } from "../helpers/platform";
import { createRun, mlflowClient } from "../registry/registry-fixtures";

export type TestPlatform = Awaited<ReturnType<typeof startTestPlatform>>;

/** A registered model with version 1 from a run that passes the default checks (laptop mode). */
export async function modelWithVersion(p: TestPlatform, name: string) {
  const api = mlflowClient(p);
  const run = await createRun(p, { metrics: { auc: 0.95 } });
  await api.ok("POST", "/registered-models/create", { name });
  await api.ok("POST", "/model-versions/create", {
    name,
    source: `runs:/${run.runId}/model`,
    run_id: run.runId,
  });
  return run;
}

export const basic = (name: string, token: string) => ({
  authorization: `Basic ${Buffer.from(`${name}:${token}`).toString("base64")}`,
});
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
