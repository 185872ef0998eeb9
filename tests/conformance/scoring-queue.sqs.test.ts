import { SqsScoringQueue } from "@keel/serving";
import { FakeSqs } from "./helpers/fake-sqs";
import { scoringQueueSuite } from "./scoring-queue.suite";

// The fake rejects any request SQS would (batch size, ids, wait time, queue URL), so the suite
// also checks the adapter's request shapes against @aws-sdk/client-sqs's types.
scoringQueueSuite("Amazon SQS (request shapes checked by a fake)", async (visibilityMs) => {
  const sqs = new FakeSqs(undefined, visibilityMs);
  return { queue: new SqsScoringQueue(sqs, sqs.queueUrl), close: async () => sqs.close() };
});
