import { KeelError } from "@keel/core";

/** Every error the prediction log, drift job and monitoring API raise. */
export class MonitoringError extends KeelError {}
