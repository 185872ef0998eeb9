import { type Clock, newToken } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import { registryErrors } from "./errors";

const LEASE_MS = 30_000;
const WAIT_MS = 15_000;

/**
 * Serializes stage transitions of one registered model. A transition with
 * archive_existing_versions reads the model's other versions and archives those in the target
 * stage: two of them racing would each archive the other's version and leave the stage empty.
 * The lease is one conditional put (taken when absent or expired, so a crashed holder blocks
 * for at most LEASE_MS) and is released by a delete conditional on its owner.
 */
export async function withStageLock<T>(
  store: MetadataStore,
  clock: Clock,
  modelId: string,
  fn: () => Promise<T>,
): Promise<T> {
  const key = { pk: `RM#${modelId}`, sk: "LOCK#stage" };
  const owner = newToken();
  const deadline = clock.now() + WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    const now = clock.now();
    try {
      await store.put(
        { ...key, owner, expires: now + LEASE_MS },
        { condition: { or: [{ exists: false }, { path: "expires", lt: now }] } },
      );
      break;
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      if (now > deadline) {
        throw registryErrors.conflict("another stage transition of this model is in progress; try again");
      }
      await new Promise((r) =>
        setTimeout(r, Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())),
      );
    }
  }
  try {
    return await fn();
  } finally {
    await store.delete(key, { condition: { path: "owner", eq: owner } }).catch((e) => {
      if (!isConditionFailed(e)) throw e;
    });
  }
}
