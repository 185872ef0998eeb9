import type { ArtifactStore } from "@keel/artifacts";
import type { AuditLog } from "@keel/audit";
import { type Clock, type Logger, newId, pad, parseWith } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { BaselineReader } from "./baseline";
import {
  computeDriftReport,
  type DriftReport,
  type DriftThresholds,
  driftReportSchema,
  driftThresholdsSchema,
} from "./drift-report";
import { MonitoringError } from "./errors";
import { deploymentNameSchema, type ParquetPredictionLog } from "./prediction-log";
import { renderDriftHtml } from "./report-html";

export interface MonitoringDeps {
  store: MetadataStore;
  artifacts: ArtifactStore;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

export interface DriftOptions {
  baselines: BaselineReader;
  /** PSI thresholds (default watch 0.1, drift 0.25). */
  thresholds?: Partial<DriftThresholds>;
  /** Window when a run names none (default 24 h). */
  defaultWindowMs?: number;
  /** Called with every report whose status is "drift" (after it is stored and audited). */
  onDrift?: (report: DriftReport) => void | Promise<void>;
  /** Starts a retraining pipeline run when drift is found; its run id goes into the report. */
  retrain?: (deployment: string, report: DriftReport) => Promise<{ runId: string }>;
}

const WINDOW = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_WINDOW_MS = 90 * 86_400_000;

/** "90s", "30m", "24h", "7d" -> milliseconds (at most 90 days). */
export function parseWindow(s: string): number {
  const m = WINDOW.exec(s.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : Number.NaN;
  if (!(ms > 0) || ms > MAX_WINDOW_MS) {
    throw new MonitoringError(
      "INVALID_PARAMETER_VALUE",
      `window '${s}' must look like 30m, 24h or 7d (at most 90d)`,
    );
  }
  return ms;
}

const REPORT_ID = /^[0-9a-f]{32}$/;
const partition = (deployment: string) => `MON#DEPLOYMENT#${deployment}`;

/**
 * The drift job: compares a window of a deployment's prediction log with the training
 * baseline, stores the report (JSON + HTML) in the ArtifactStore under
 * `monitoring/reports/<id>.{json,html}`, indexes it per deployment in the MetadataStore, and
 * raises alerts (audit event, onDrift hook, optional retraining) when drift is found.
 */
export class MonitoringService {
  private readonly thresholds: DriftThresholds;

  constructor(
    private readonly deps: MonitoringDeps,
    private readonly predictions: ParquetPredictionLog,
    private readonly opts: DriftOptions,
  ) {
    this.thresholds = parseWith(driftThresholdsSchema, opts.thresholds ?? {}, "drift thresholds");
  }

  /** Runs the drift job for one deployment now, over the last `windowMs`. */
  async runDrift(deployment: string, opts: { windowMs?: number } = {}): Promise<DriftReport> {
    parseWith(deploymentNameSchema, deployment, "deployment");
    const windowMs = opts.windowMs ?? this.opts.defaultWindowMs ?? UNIT_MS.d;
    const to = this.deps.clock.now();
    const from = to - windowMs;
    // Count what is still buffered too: a report right after traffic should see it.
    await this.predictions.flush();
    const entries = await this.predictions.read(deployment, from, to + 1);
    const last = entries.at(-1);
    const baseline = await this.opts.baselines.baselineFor(
      deployment,
      last && { model: last.model, version: last.version },
    );
    if (!baseline) {
      const why = last ? "" : " (and it logged no predictions in the window, so its model is unknown)";
      throw new MonitoringError(
        "RESOURCE_DOES_NOT_EXIST",
        `no training baseline is known for deployment '${deployment}'${why}`,
      );
    }
    const report = computeDriftReport({
      id: newId(),
      deployment,
      baseline,
      entries,
      from,
      to,
      createdAt: to,
      thresholds: this.thresholds,
    });
    if (report.status === "drift" && this.opts.retrain) {
      try {
        const { runId } = await this.opts.retrain(deployment, report);
        report.retraining = { triggered: true, runId };
      } catch (e) {
        this.deps.log.error("retraining trigger failed", { deployment, err: (e as Error).message });
        report.retraining = { triggered: false, error: (e as Error).message };
      }
    }
    await this.store(report, to);
    if (report.status === "drift") await this.alert(report);
    return report;
  }

  private async store(report: DriftReport, createdAt: number): Promise<void> {
    const { artifacts, store, audit } = this.deps;
    await artifacts.put(`monitoring/reports/${report.id}.json`, Buffer.from(JSON.stringify(report)), {
      contentType: "application/json",
    });
    await artifacts.put(`monitoring/reports/${report.id}.html`, Buffer.from(renderDriftHtml(report)), {
      contentType: "text/html; charset=utf-8",
    });
    // The index entry is written last, so "latest" never points at a report whose files are missing.
    await store.put(
      {
        pk: partition(report.deployment),
        sk: `REPORT#${pad(createdAt, 15)}#${report.id}`,
        id: report.id,
        status: report.status,
        createdAt: report.createdAt,
        rows: report.rows,
      },
      { condition: { exists: false } },
    );
    await audit.append({
      action: "monitoring.drift.report",
      resource: `deployment:${report.deployment}`,
      state: { reportId: report.id, status: report.status, rows: report.rows, window: report.window },
    });
  }

  private async alert(report: DriftReport): Promise<void> {
    const drifted = report.features
      .filter((f) => f.status === "drift")
      .map((f) => ({ name: f.name, psi: f.psi }));
    await this.deps.audit.append({
      action: "monitoring.drift.alert",
      resource: `deployment:${report.deployment}`,
      state: { reportId: report.id, features: drifted, retraining: report.retraining },
    });
    try {
      await this.opts.onDrift?.(report);
    } catch (e) {
      // A failing hook must not lose the report, which is already stored and audited.
      this.deps.log.error("onDrift hook failed", {
        deployment: report.deployment,
        err: (e as Error).message,
      });
    }
  }

  /** The most recent report of a deployment; RESOURCE_DOES_NOT_EXIST when none has run. */
  async latestReport(deployment: string): Promise<DriftReport> {
    parseWith(deploymentNameSchema, deployment, "deployment");
    const page = await this.deps.store.query({
      pk: partition(deployment),
      prefix: "REPORT#",
      descending: true,
      limit: 1,
    });
    const item = page.items[0];
    if (!item)
      throw new MonitoringError(
        "RESOURCE_DOES_NOT_EXIST",
        `no drift report for deployment '${deployment}' yet`,
      );
    return this.report(String(item.id));
  }

  /** A deployment's reports, newest first, a page at a time (the index rows, not the reports). */
  async listReports(deployment: string, opts: { limit?: number; pageToken?: string } = {}) {
    parseWith(deploymentNameSchema, deployment, "deployment");
    const page = await this.deps.store.query({
      pk: partition(deployment),
      prefix: "REPORT#",
      descending: true,
      limit: opts.limit ?? 50,
      cursor: opts.pageToken,
    });
    return {
      reports: page.items.map((i) => ({
        id: String(i.id),
        status: i.status as DriftReport["status"],
        createdAt: String(i.createdAt),
        rows: Number(i.rows),
      })),
      next_page_token: page.cursor,
    };
  }

  async report(id: string): Promise<DriftReport> {
    const bytes = await this.reportFile(id, "json");
    return driftReportSchema.parse(JSON.parse(bytes.toString("utf8")));
  }

  async reportHtml(id: string): Promise<string> {
    return (await this.reportFile(id, "html")).toString("utf8");
  }

  /** Deployments with logged predictions (what a scheduled run checks when told nothing). */
  deployments(): Promise<string[]> {
    return this.predictions.deployments();
  }

  private async reportFile(id: string, ext: "json" | "html"): Promise<Buffer> {
    const path = `monitoring/reports/${id}.${ext}`;
    if (!REPORT_ID.test(id) || !(await this.deps.artifacts.exists(path))) {
      throw new MonitoringError("RESOURCE_DOES_NOT_EXIST", `no drift report '${id}'`);
    }
    return this.deps.artifacts.getBytes(path);
  }
}
