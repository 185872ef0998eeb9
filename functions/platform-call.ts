import { createPlatform } from "@keel/app";
import { loadConfig } from "@keel/core";

/**
 * For scheduled jobs: calls the platform's own HTTP API in process (no network, no API
 * Gateway), so a job runs through the same validation, services and audit trail as a user's
 * request. The platform is built once per container. A non-2xx answer throws, so the
 * scheduler retries and finally dead-letters the event.
 */
const platform = await createPlatform(loadConfig());
await platform.start();

export async function callPlatform(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
  const res = await platform.app.request(path, {
    method,
    headers: { "content-type": "application/json", "x-keel-principal": "keel-scheduler" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: unknown = await res.json();
  if (!res.ok) throw new Error(`${method} ${path} failed (${res.status}): ${JSON.stringify(json)}`);
  return json;
}
