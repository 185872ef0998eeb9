import { PublishCommand, type PublishCommandInput, SNSClient } from "@aws-sdk/client-sns";
import type { BudgetAlert } from "./teams";

/** What a budget alert publishes: a readable subject and line, the alert as JSON, attributes to filter on. */
export function budgetAlertPublishInput(topicArn: string, a: BudgetAlert): PublishCommandInput {
  const pct = Math.round(a.threshold * 100);
  return {
    TopicArn: topicArn,
    Subject: `Keel LLM budget: team ${a.team} reached ${pct}% (${a.period})`.slice(0, 99),
    Message: JSON.stringify({
      default: `Team ${a.team} spent ${a.spent.toFixed(4)} of its ${a.amount} USD budget for ${a.period} (alert at ${pct}%).`,
      alert: a,
    }),
    MessageAttributes: {
      team: { DataType: "String", StringValue: a.team },
      threshold: { DataType: "Number", StringValue: String(a.threshold) },
    },
  };
}

/** The `onBudgetAlert` hook for AWS: publishes each alert to the stage's SNS topic. */
export function snsBudgetAlerts(
  topicArn: string,
  client: { send(c: PublishCommand): Promise<unknown> } = new SNSClient({}),
): (a: BudgetAlert) => Promise<void> {
  return async (a) => {
    await client.send(new PublishCommand(budgetAlertPublishInput(topicArn, a)));
  };
}
