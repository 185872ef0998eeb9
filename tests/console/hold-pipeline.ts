/**
 * A pipeline file whose first step waits for the file named by its `gate` parameter: a run that
 * stays RUNNING until the test lets it go (then `after` runs).
 */
export const HOLD_PIPELINE = `import { existsSync } from "node:fs";
import { definePipeline } from "@keel/pipelines";
import { z } from "zod";
export const hold = definePipeline({
  name: "hold",
  params: z.object({ gate: z.string() }),
  steps: [
    {
      name: "wait",
      kind: "lambda",
      handler: async (ctx) => {
        while (!existsSync(String(ctx.params.gate))) await new Promise((r) => setTimeout(r, 50));
        return { released: true };
      },
    },
    { name: "after", kind: "lambda", dependsOn: ["wait"], handler: async () => ({ done: true }) },
  ],
});
`;
