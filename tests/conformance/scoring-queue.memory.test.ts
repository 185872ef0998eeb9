import { MemoryScoringQueue } from "@keel/serving";
import { scoringQueueSuite } from "./scoring-queue.suite";

scoringQueueSuite("in process", async (visibilityMs) => ({
  queue: new MemoryScoringQueue(visibilityMs),
  close: async () => {},
}));
