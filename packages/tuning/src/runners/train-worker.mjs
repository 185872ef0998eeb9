// A tuning trial's worker thread: Keel runs TypeScript without a build step, so the worker
// registers tsx's loader (workers do not inherit a loader registered in code) and then loads
// the worker's body.
import { register } from "tsx/esm/api";

register();
await import("./train-worker-body.ts");
