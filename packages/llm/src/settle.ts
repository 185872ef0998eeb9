import type { UsageLog } from "./usage-log";

/**
 * For runtimes that may freeze or recycle the process once an answer ends (a Lambda container):
 * the answer's body does not end until what its request left buffered is durable, so no
 * acknowledged request's usage record can be lost. The DynamoDB usage records (and spend) are
 * written before the last byte's close; the Parquet copy is written when its oldest row is older
 * than `parquetMaxAgeMs` (per-request files would be too small; its rows are also rebuilt from the
 * usage records by the export, `GET /api/v1/llm/usage/export`).
 */
export function settleAfter(
  res: Response,
  d: { usage: UsageLog; flushSpend?: () => Promise<void> },
  opts: { parquetMaxAgeMs?: number } = {},
): Response {
  const settle = async () => {
    await Promise.all([d.usage.flush(), d.flushSpend?.()]);
    await d.usage.parquet?.flushOlderThan(opts.parquetMaxAgeMs ?? 60_000);
  };
  if (!res.body) return res; // the gateway's answers always have one
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async flush() {
        await settle().catch(() => undefined);
      },
    }),
  );
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
