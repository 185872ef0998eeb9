import type { PipelineTracking } from "@keel/pipelines";

/**
 * An in-memory stand-in for @keel/tracking's TrackingService, speaking the narrow interface
 * pipelines declare. It records what pipelines ask of tracking so tests can assert lineage.
 */
export function memoryTracking() {
  const experiments = new Map<string, string>();
  const runs = new Map<
    string,
    {
      experiment_id: string;
      name?: string;
      status: string;
      tags: Record<string, string>;
      metrics: Record<string, number>;
      params: Record<string, string>;
    }
  >();
  let next = 1;
  const tracking: PipelineTracking = {
    async createExperiment({ name }) {
      const id = String(next++);
      experiments.set(name, id);
      return { experiment_id: id };
    },
    async getExperimentByName(name) {
      const id = experiments.get(name);
      if (!id) throw Object.assign(new Error(`no experiment ${name}`), { code: "RESOURCE_DOES_NOT_EXIST" });
      return { experiment: { experiment_id: id } };
    },
    async createRun(req) {
      const id = `run${next++}`;
      runs.set(id, {
        experiment_id: req.experiment_id,
        name: req.run_name,
        status: "RUNNING",
        tags: Object.fromEntries((req.tags ?? []).map((t) => [t.key, t.value])),
        metrics: {},
        params: {},
      });
      return { run: { info: { run_id: id } } };
    },
    async updateRun(req) {
      runs.get(req.run_id)!.status = req.status;
      return {};
    },
    async logBatch(req) {
      const r = runs.get(req.run_id)!;
      for (const m of req.metrics ?? []) r.metrics[m.key] = m.value;
      for (const p of req.params ?? []) r.params[p.key] = p.value;
      for (const t of req.tags ?? []) r.tags[t.key] = t.value;
      return {};
    },
  };
  return { tracking, runs, experiments };
}
