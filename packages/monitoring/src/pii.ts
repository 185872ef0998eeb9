import { createHmac, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { AWS_CALL_TIMEOUTS } from "@keel/core";
import { z } from "zod";

/** How a deployment's personal-data inputs are kept in the prediction log. */
export const piiSpecSchema = z.object({
  /** Input tensor names (the whole tensor) or feature names (a column of an enriched tensor). */
  fields: z.array(z.string().min(1).max(256)).max(1024),
  /** `pseudonymize`: keyed HMAC-SHA256, so equal values stay linkable; `drop`: not stored at all. */
  mode: z.enum(["pseudonymize", "drop"]).default("pseudonymize"),
});
export type PiiSpec = z.output<typeof piiSpecSchema>;

/** Where the HMAC key comes from: a 0600 file under the data dir locally, a Secrets Manager secret in AWS. */
export type PiiKeySource =
  | { kind: "file"; path: string }
  | {
      kind: "secret";
      secretId: string;
      client?: { send(c: GetSecretValueCommand): Promise<{ SecretString?: string }> };
    };

/** Reads (or, for a file, creates on first use with mode 0600) the key; fetched once per process. */
export async function loadPiiKey(source: PiiKeySource): Promise<Buffer> {
  if (source.kind === "secret") {
    const client = source.client ?? new SecretsManagerClient({ ...AWS_CALL_TIMEOUTS });
    const out = await client.send(new GetSecretValueCommand({ SecretId: source.secretId }));
    if (!out.SecretString || out.SecretString.length < 32)
      throw new Error(`secret '${source.secretId}' holds no prediction-log key (at least 32 characters)`);
    return Buffer.from(out.SecretString, "utf8");
  }
  await mkdir(dirname(source.path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(source.path, randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  // Tighten a key file someone loosened; the key is the only thing between the log and the raw values.
  if (((await stat(source.path)).mode & 0o077) !== 0) await chmod(source.path, 0o600);
  return Buffer.from((await readFile(source.path, "utf8")).trim(), "utf8");
}

/** A pseudonym as a tensor cell: the first 48 bits of HMAC-SHA256(key, field \0 value), an exact integer. */
export function pseudonym(key: Buffer, field: string, value: number): number {
  return createHmac("sha256", key).update(`${field}\0${value}`).digest().readUIntBE(0, 6);
}

type Tensors = Record<string, Array<Array<number | null>>>;

/**
 * Applies a PII spec to logged inputs: a field naming a whole tensor drops or pseudonymizes
 * every cell; a field naming a feature column (by `columns`) does that to the column only.
 * Missing cells stay null. Returns new tensors; the input is not changed.
 */
export function protectInputs(
  inputs: Tensors,
  spec: PiiSpec,
  key: Buffer | undefined,
  columns: Record<string, string[]> = {},
): Tensors {
  const fields = new Set(spec.fields);
  const cell = (field: string, v: number | null) =>
    v === null || spec.mode === "drop" || !key ? null : pseudonym(key, field, v);
  const out: Tensors = {};
  for (const [name, rows] of Object.entries(inputs)) {
    if (fields.has(name)) {
      if (spec.mode !== "drop") out[name] = rows.map((r) => r.map((v) => cell(name, v)));
      continue;
    }
    const names = columns[name] ?? [];
    const hit = names.map((n) => fields.has(n));
    out[name] = hit.some(Boolean) ? rows.map((r) => r.map((v, i) => (hit[i] ? cell(names[i], v) : v))) : rows;
  }
  return out;
}
