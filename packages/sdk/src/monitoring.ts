import { monitoringRoutes as m } from "@keel/contract";
import type { Caller } from "./caller";

/** Drift monitoring of deployments. */
export class MonitoringClient {
  constructor(private readonly call: Caller) {}

  /** The latest drift report of a deployment. */
  latest(deployment: string) {
    return this.call(m.latestDrift, { params: { deployment } });
  }
  /** Computes a report now (window like "24h"; default the configured one). */
  run(deployment: string, window?: string) {
    return this.call(m.runDrift, { params: { deployment }, body: { window } });
  }
  report(id: string) {
    return this.call(m.getReport, { params: { file: `${id}.json` } });
  }
}
