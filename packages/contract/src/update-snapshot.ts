import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkCompatibility } from "./compat";
import { openApiDocument } from "./openapi";

/**
 * `npm run contract:update`: regenerates the published snapshot `packages/contract/openapi.json`
 * from the contract. Refuses a change that breaks a published route unless CONTRACT_VERSION's
 * major was bumped.
 */
export const SNAPSHOT_PATH = fileURLToPath(new URL("../openapi.json", import.meta.url));

export function snapshotText(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = openApiDocument();
  if (existsSync(SNAPSHOT_PATH)) {
    const { ok, breaking } = checkCompatibility(JSON.parse(readFileSync(SNAPSHOT_PATH, "utf8")), doc);
    if (!ok) {
      console.error(
        `The contract breaks published routes; bump CONTRACT_VERSION's major in packages/contract/src/routes.ts:\n  ${breaking.join("\n  ")}`,
      );
      process.exit(1);
    }
  }
  writeFileSync(SNAPSHOT_PATH, snapshotText(doc));
  console.log(`wrote ${SNAPSHOT_PATH}`);
}
