/**
 * Timeouts for the AWS SDK clients Keel makes (the SDK's own default is a 5-minute idle socket
 * and no deadline): a connection must open within 3 s; an API call (DynamoDB, SQS, CloudWatch,
 * Secrets Manager, Athena, Step Functions) fails after 30 s in all (the SDK then retries it
 * within its attempts); an S3 object transfer, which may be large, fails when its socket is
 * idle for 60 s. Spread into the client's configuration: `new SQSClient({ region, ...AWS_CALL_TIMEOUTS })`.
 */
export const AWS_CALL_TIMEOUTS = {
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
} as const;

export const AWS_TRANSFER_TIMEOUTS = {
  requestHandler: { connectionTimeout: 3_000, socketTimeout: 60_000 },
} as const;
