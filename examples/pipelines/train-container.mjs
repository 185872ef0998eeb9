// The "container" of the example's training step. In AWS this is the image's entrypoint run by a
// SageMaker training job; locally Keel runs the same command as a child process. Like any
// SageMaker container it reads its inputs from the environment and writes the model to SM_MODEL_DIR.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const params = JSON.parse(process.env.KEEL_PARAMS ?? "{}");
const best = JSON.parse(process.env.KEEL_INPUT_pick ?? "{}");
const data = JSON.parse(process.env.KEEL_INPUT_prepare ?? "{}");
if (params.failTraining) {
  console.error("training failed on purpose (failTraining=true)");
  process.exit(3);
}
console.log(`training on ${data.datasetUri} with lr=${best.lr}`);
// A tiny "model": weights derived deterministically from the chosen learning rate.
const model = { kind: "logistic-regression", lr: best.lr, weights: [0.8, -0.3, 0.05 / best.lr] };
writeFileSync(join(process.env.SM_MODEL_DIR, "model.json"), JSON.stringify(model));
console.log("model written");
