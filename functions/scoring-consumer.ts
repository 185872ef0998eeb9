import { createPlatform } from "@keel/app";
import { loadConfig, log } from "@keel/core";
import { findServingModule, type ScoringMessage, scoringMessageSchema } from "@keel/serving";

/**
 * The SQS consumer for asynchronous scoring. The event source mapping's batching window
 * gathers messages; this merges compatible requests into large backend batches (through the
 * router) and stores each result under its request id. A body that is not a scoring message
 * is reported as a batch item failure, so SQS moves it to the dead-letter queue.
 */
const platform = await createPlatform(loadConfig());
const serving = findServingModule(platform.modules);

interface SqsEvent {
  Records: Array<{ messageId: string; body: string }>;
}

export async function handler(
  event: SqsEvent,
): Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }> {
  const good: ScoringMessage[] = [];
  const bad: string[] = [];
  for (const r of event.Records) {
    try {
      good.push(scoringMessageSchema.parse(JSON.parse(r.body)));
    } catch (e) {
      log.warn("invalid scoring message", { messageId: r.messageId, err: (e as Error).message });
      bad.push(r.messageId);
    }
  }
  await serving.service.scoring.process(good);
  await serving.service.stats.flush();
  return { batchItemFailures: bad.map((itemIdentifier) => ({ itemIdentifier })) };
}
