import { MemoryTrackingLogger } from "@keel/train";
import { trackingLoggerSuite } from "./tracking-logger.suite";

trackingLoggerSuite("in memory", async () => ({
  async newRun() {
    const logger = new MemoryTrackingLogger();
    return {
      logger,
      read: async () => ({
        params: { ...logger.params },
        tags: { ...logger.tags },
        metric: async (key: string) =>
          logger.metrics
            .filter((m) => m.key === key)
            .sort((a, b) => a.step - b.step)
            .map(({ value, step }) => ({ value, step })),
        artifact: async (path: string) => logger.artifacts.get(path),
      }),
    };
  },
  close: async () => {},
}));
