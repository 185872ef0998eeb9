/**
 * Starts the servers that suites share, once per `npm test`, and tells the suites where they
 * are through environment variables. Each area registers its own setup in `setups` below.
 * A prerequisite that is missing fails the run with what to install; nothing is skipped silently.
 */
import type { TestProject } from "vitest/node";

type Teardown = () => Promise<void>;
type Setup = (project: TestProject) => Promise<Teardown | undefined>;

const setups: Array<() => Promise<{ default: Setup }>> = [() => import("./cassandra")];

export default async function globalSetup(project: TestProject): Promise<Teardown> {
  const teardowns: Teardown[] = [];
  for (const load of setups) {
    const { default: setup } = await load();
    const t = await setup(project);
    if (t) teardowns.push(t);
  }
  return async () => {
    for (const t of teardowns.reverse()) await t();
  };
}
