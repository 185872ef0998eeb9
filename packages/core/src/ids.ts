import { randomBytes, randomUUID } from "node:crypto";

/** 32 lowercase hex characters, as MLflow run ids are. */
export function newId(): string {
  return randomUUID().replaceAll("-", "");
}

/** A short random token for request ids and client tokens. */
export function newToken(bytes = 12): string {
  return randomBytes(bytes).toString("base64url");
}

/** Zero-padded decimal so lexical order equals numeric order (for sort keys). */
export function pad(n: number, width = 16): string {
  if (!Number.isFinite(n)) throw new Error(`cannot pad ${n}`);
  const neg = n < 0;
  const s = Math.abs(Math.trunc(n)).toString().padStart(width, "0");
  return neg ? `-${s}` : s;
}
