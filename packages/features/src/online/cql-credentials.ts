import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { AWS_CALL_TIMEOUTS } from "@keel/core";
import { z } from "zod";
import { invalidFeatures } from "../errors";

const secretSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  /** PEM of a private CA that signs the nodes' TLS certificates (optional). */
  ca: z.string().min(1).optional(),
});

/**
 * Reads CQL username/password from a Secrets Manager secret whose string is
 * `{"username": "...", "password": "..."}` (how stacks/Features.ts stores ScyllaDB Cloud's),
 * optionally with `"ca"`: the PEM of the CA that signs the nodes' TLS certificates.
 * The value is never logged; a malformed secret fails naming the secret, not its content.
 */
export function secretCredentials(
  secretId: string,
  client: Pick<SecretsManagerClient, "send"> = new SecretsManagerClient({ ...AWS_CALL_TIMEOUTS }),
): () => Promise<{ username: string; password: string; ca?: string }> {
  return async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(out.SecretString ?? "");
    } catch {
      throw invalidFeatures(`CQL credentials secret '${secretId}' is not JSON`);
    }
    const r = secretSchema.safeParse(parsed);
    if (!r.success)
      throw invalidFeatures(`CQL credentials secret '${secretId}' needs non-empty "username" and "password"`);
    return r.data;
  };
}
