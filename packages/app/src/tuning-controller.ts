import type { Clock, KeelConfig } from "@keel/core";
import { systemClock } from "@keel/core";
import { type ControllerEvent, type TuningDefinition, TuningStepController, TuningStore } from "@keel/tuning";
import { createMetadataStore } from "./adapters";

/**
 * The tuning controller Lambda's wiring (`functions/tuning-controller.ts`): the project's tuning
 * definitions over the metadata store the config names. Stateless between calls (see
 * TuningStepController): every experiment and trial lives in the platform table.
 */
export function createTuningControllerHandler(
  config: KeelConfig,
  tunings: TuningDefinition[],
  opts: { clock?: Clock } = {},
): (event: ControllerEvent) => Promise<Record<string, unknown>> {
  const specs = new Map(tunings.map((t) => [t.spec.name, t.spec]));
  const controller = new TuningStepController(
    new TuningStore(createMetadataStore(config)),
    opts.clock ?? systemClock,
    (name) => specs.get(name),
  );
  return (event) => controller.handle(event);
}
