import { type Clock, digest } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import type { Json, JsonObject } from "./definition";

/**
 * Step caching as Kubeflow does it: the key is a hash of the step's spec (its config, its
 * handler's source and the pipeline version), its resolved inputs (parameters, dependency
 * outputs, the map element) and nothing about the run itself, so a later run with the same
 * inputs reuses the result. Entries are immutable: a key always maps to equal outputs.
 */
export interface CacheEntry {
  output: Json;
  runId: string;
  time: number;
}

export function cacheKey(parts: {
  spec: string;
  params: JsonObject;
  inputs: Record<string, Json>;
  item?: Json;
}): string {
  return digest(parts);
}

export class StepCache {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** The cached output for a step and key, or undefined. */
  async get(pipeline: string, step: string, key: string): Promise<CacheEntry | undefined> {
    const item = await this.store.get({ pk: `pcache#${pipeline}#${step}`, sk: key });
    if (!item) return undefined;
    return {
      output: JSON.parse(item.output as string),
      runId: item.runId as string,
      time: item.time as number,
    };
  }

  /** Records an output; an existing entry for the key is left as it is (same key, same result). */
  async put(pipeline: string, step: string, key: string, output: Json, runId: string): Promise<void> {
    try {
      await this.store.put(
        {
          pk: `pcache#${pipeline}#${step}`,
          sk: key,
          output: JSON.stringify(output),
          runId,
          time: this.clock.now(),
        },
        { condition: { exists: false } },
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }
}
