import { createHash, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

/**
 * API tokens for `keel dev --auth`: `kt_<hex of the user name>_<32 random bytes, base64url>`.
 * The name inside lets a Bearer token find its user without an index; only a salted scrypt
 * hash of the secret is stored, and hashes are compared in constant time.
 */
const PREFIX = "kt_";
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

export function newApiToken(name: string): string {
  return `${PREFIX}${Buffer.from(name, "utf8").toString("hex")}_${randomBytes(32).toString("base64url")}`;
}

/** The user name a token names, or undefined when it is not a Keel token. */
export function tokenUser(token: string): string | undefined {
  if (!token.startsWith(PREFIX)) return undefined;
  const sep = token.indexOf("_", PREFIX.length);
  if (sep < 0) return undefined;
  const hex = token.slice(PREFIX.length, sep);
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  return Buffer.from(hex, "hex").toString("utf8");
}

export interface SecretHash {
  salt: string;
  hash: string;
}

export function hashSecret(secret: string): SecretHash {
  const salt = randomBytes(16).toString("base64url");
  return { salt, hash: scryptSync(secret, salt, 32, SCRYPT).toString("base64url") };
}

/**
 * Verifies a secret against its stored hash in constant time. scrypt costs ~50 ms, so a
 * successful check is remembered in memory (keyed by a SHA-256 of secret and stored hash):
 * a rotated or removed token changes the stored hash and misses the cache.
 */
const verified = new Map<string, number>();
const VERIFIED_TTL_MS = 5 * 60_000;
const VERIFIED_MAX = 10_000;

export function verifySecret(secret: string, stored: SecretHash): boolean {
  const key = createHash("sha256").update(`${stored.salt}:${stored.hash}:${secret}`).digest("base64url");
  const until = verified.get(key);
  if (until !== undefined && until > Date.now()) return true;
  const expected = Buffer.from(stored.hash, "base64url");
  const actual = scryptSync(secret, stored.salt, expected.length || 32, SCRYPT);
  const ok = expected.length === actual.length && timingSafeEqual(expected, actual);
  if (ok) {
    if (verified.size >= VERIFIED_MAX) verified.clear();
    verified.set(key, Date.now() + VERIFIED_TTL_MS);
  }
  return ok;
}
