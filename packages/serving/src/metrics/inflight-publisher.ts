import { PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";

/** The part of CloudWatchClient the publisher uses. */
export interface CloudWatchLike {
  send(command: PutMetricDataCommand): Promise<unknown>;
}

/** CloudWatch name of the gauge the GPU node group's target tracking reads (stat Sum, dimension Stage). */
export const IN_FLIGHT_METRIC = "InFlightRequests";

/**
 * Publishes the router's in-flight requests for autoscaling: sampled every second, and once a
 * period the period's average is sent. Every router instance sends its own average, so the
 * per-minute Sum across instances is the fleet's concurrent load.
 */
export class InFlightPublisher {
  private samples: number[] = [];
  private sampler?: NodeJS.Timeout;
  private sender?: NodeJS.Timeout;

  constructor(
    private readonly client: CloudWatchLike,
    private readonly namespace: string,
    private readonly stage: string,
    private readonly current: () => number,
    private readonly periodMs = 60_000,
  ) {}

  start(): void {
    this.sampler = setInterval(() => this.samples.push(this.current()), 1_000);
    this.sender = setInterval(() => void this.publish().catch(() => undefined), this.periodMs);
    this.sampler.unref();
    this.sender.unref();
  }

  stop(): void {
    clearInterval(this.sampler);
    clearInterval(this.sender);
  }

  /** Sends the average since the last call (the current value when nothing was sampled). */
  async publish(): Promise<void> {
    const s = this.samples.length ? this.samples : [this.current()];
    this.samples = [];
    const avg = s.reduce((a, b) => a + b, 0) / s.length;
    await this.client.send(
      new PutMetricDataCommand({
        Namespace: this.namespace,
        MetricData: [
          {
            MetricName: IN_FLIGHT_METRIC,
            Dimensions: [{ Name: "Stage", Value: this.stage }],
            Value: avg,
            Unit: "Count",
            Timestamp: new Date(),
          },
        ],
      }),
    );
  }
}
