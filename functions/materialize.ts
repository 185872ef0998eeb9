import { callPlatform } from "./platform-call";

/**
 * Run by the Features stack's schedule: an incremental materialization of every online
 * feature view, exactly as `POST /api/v1/features/materialize` would run it.
 */
export async function handler(): Promise<unknown> {
  return callPlatform("POST", "/api/v1/features/materialize", { incremental: true });
}
