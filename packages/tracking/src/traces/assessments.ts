import { newId } from "@keel/core";
import { invalidParam, missing, missingParam } from "../errors";
import type { TrackingContext } from "../tracking-context";
/** An assessment as MLflow 3's REST API carries it (mlflow/protos/assessments.proto), in JSON form. */
import type { Assessment, TraceStore } from "./trace-store";

export type { Assessment };

const UPDATABLE = new Set([
  "assessment_name",
  "feedback",
  "expectation",
  "rationale",
  "metadata",
  "span_id",
  "error",
  "valid",
]);

/** `assessmentName` (a FieldMask path) as the JSON field `assessment_name`. */
const snake = (s: string) => s.trim().replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const isPrimitive = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);

/** An expectation whose value is not a primitive is stored serialized, as MLflow's server does. */
function normalizeExpectation(a: Record<string, unknown>): void {
  const e = a.expectation as { value?: unknown } | undefined;
  if (e && "value" in e && !isPrimitive(e.value)) {
    a.expectation = {
      serialized_value: { serialization_format: "JSON_FORMAT", value: JSON.stringify(e.value) },
    };
  }
}

/**
 * Feedback and expectations attached to a trace (MLflow 3's assessments), kept in the trace's
 * item. An assessment that overrides another marks it invalid until the override is deleted.
 */
export class Assessments {
  constructor(
    private readonly ctx: TrackingContext,
    private readonly traces: TraceStore,
  ) {}

  private async all(traceId: string): Promise<Record<string, Assessment>> {
    return (await this.traces.mustGet(traceId)).assessments ?? {};
  }

  private async mustGet(traceId: string, id: string): Promise<Assessment> {
    const found = (await this.all(traceId))[id];
    if (!found) throw missing(`Assessment with ID '${id}' not found for trace '${traceId}'.`);
    return found;
  }

  private put(traceId: string, a: Assessment) {
    return this.traces.update(traceId, { set: [[["assessments", a.assessment_id], a]] });
  }

  async create(
    traceId: string,
    input: Record<string, unknown> | undefined,
  ): Promise<{ assessment: Assessment }> {
    if (!input) throw missingParam("assessment");
    if (!input.assessment_name) throw missingParam("assessment_name");
    const existing = await this.all(traceId);
    const overrides = input.overrides as string | undefined;
    if (overrides && !existing[overrides]) {
      throw invalidParam(
        `Assessment with ID '${overrides}' to override was not found for trace '${traceId}'.`,
      );
    }
    const now = new Date(this.ctx.now()).toISOString();
    const a: Assessment = {
      ...input,
      assessment_id: `a-${newId()}`,
      trace_id: traceId,
      create_time: now,
      last_update_time: now,
      valid: true,
    };
    normalizeExpectation(a);
    await this.put(traceId, a);
    if (overrides) await this.put(traceId, { ...existing[overrides], valid: false });
    return { assessment: a };
  }

  async get(traceId: string, id: string): Promise<{ assessment: Assessment }> {
    return { assessment: await this.mustGet(traceId, id) };
  }

  async update(
    traceId: string,
    id: string,
    r: { assessment?: Record<string, unknown>; update_mask?: string },
  ): Promise<{ assessment: Assessment }> {
    if (!r.assessment) throw missingParam("assessment");
    if (!r.update_mask) throw missingParam("update_mask");
    const current = await this.mustGet(traceId, id);
    const next: Assessment = { ...current };
    for (const field of r.update_mask.split(",").map(snake)) {
      if (!UPDATABLE.has(field)) throw invalidParam(`Invalid update mask field '${field}'.`);
      if (r.assessment[field] === undefined) delete next[field];
      else next[field] = r.assessment[field];
      if (field === "feedback") delete next.expectation;
      if (field === "expectation") delete next.feedback;
    }
    normalizeExpectation(next);
    next.last_update_time = new Date(this.ctx.now()).toISOString();
    await this.put(traceId, next);
    return { assessment: next };
  }

  async delete(traceId: string, id: string): Promise<Record<string, never>> {
    const existing = await this.all(traceId);
    const a = existing[id];
    if (!a) return {};
    await this.traces.update(traceId, { remove: [["assessments", id]] });
    const overridden = a.overrides as string | undefined;
    if (overridden && existing[overridden]) await this.put(traceId, { ...existing[overridden], valid: true });
    return {};
  }
}
