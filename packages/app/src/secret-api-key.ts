import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { AWS_CALL_TIMEOUTS, KeelError } from "@keel/core";

/**
 * An API key kept in Secrets Manager: the secret's string itself, or the `apiKey` field of its
 * JSON. Read on first use and kept for `ttlMs` so a rotated key is picked up; a failed read is
 * not kept, so the next call tries again. Callers in flight share one read.
 */
export function secretApiKey(
  secretId: string,
  opts: {
    client?: Pick<SecretsManagerClient, "send">;
    ttlMs?: number;
    now?: () => number;
  } = {},
): () => Promise<string> {
  const client = opts.client ?? new SecretsManagerClient({ ...AWS_CALL_TIMEOUTS });
  const ttlMs = opts.ttlMs ?? 300_000;
  const now = opts.now ?? Date.now;
  let cached: { key: Promise<string>; at: number } | undefined;
  const read = async (): Promise<string> => {
    let text: string | undefined;
    try {
      text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    } catch (e) {
      throw new KeelError(
        "TEMPORARILY_UNAVAILABLE",
        `cannot read the API key secret '${secretId}': ${(e as Error).message}`,
      );
    }
    const key = keyOf(text?.trim() ?? "");
    if (!key)
      throw new KeelError(
        "INTERNAL_ERROR",
        `the API key secret '${secretId}' is empty: store the key itself, or JSON with an "apiKey" field`,
      );
    return key;
  };
  return () => {
    if (!cached || now() - cached.at >= ttlMs) {
      const key = read();
      const entry = { key, at: now() };
      cached = entry;
      key.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.key;
  };
}

function keyOf(text: string): string | undefined {
  if (!text.startsWith("{")) return text || undefined;
  try {
    const { apiKey } = JSON.parse(text) as { apiKey?: unknown };
    return typeof apiKey === "string" && apiKey.trim() ? apiKey.trim() : undefined;
  } catch {
    return undefined;
  }
}
