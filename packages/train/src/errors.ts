import { KeelError } from "@keel/core";

/** Every error the trainers, exporters and the train step raise. */
export class TrainError extends KeelError {}
