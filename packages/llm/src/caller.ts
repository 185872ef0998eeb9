import { currentContext, hasRole } from "@keel/core";
import { LlmError } from "./errors";
import { type KeyStore, VIRTUAL_KEY_PREFIX, type VirtualKey } from "./keys";

/** Who is calling the gateway: a virtual key's team, or a platform user/token (its own team). */
export interface Caller {
  principal: string;
  team: string;
  key?: VirtualKey;
}

/**
 * `Authorization: Bearer sk-keel-...` is a virtual key; anything else is the platform's own
 * identity (JWT in AWS, a users-store token with `keel dev --auth`, the laptop's user), which
 * needs a role granting `infer` and bills the team `user:<principal>`.
 */
export async function identifyCaller(authorization: string | undefined, keys: KeyStore): Promise<Caller> {
  const now = identifyCallerNow(authorization, keys);
  return now instanceof Promise ? await now : now;
}

/** As `identifyCaller`, synchronously when a virtual key is cached (or the platform identity answers). */
export function identifyCallerNow(
  authorization: string | undefined,
  keys: KeyStore,
): Caller | Promise<Caller> {
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? "")?.[1]?.trim();
  if (bearer?.startsWith(VIRTUAL_KEY_PREFIX)) {
    const key = keys.authenticateNow(bearer);
    return key instanceof Promise ? key.then(keyCaller) : keyCaller(key);
  }
  const ctx = currentContext() as ReturnType<typeof currentContext> & { anonymous?: boolean };
  if (ctx.anonymous)
    throw new LlmError(
      "unauthenticated",
      "You didn't provide an API key. Send 'Authorization: Bearer <virtual key or platform token>'.",
      "missing_api_key",
    );
  if (!hasRole("data-scientist", "deployer", "admin"))
    throw new LlmError(
      "denied",
      `${ctx.principal} may not call models: a role granting 'infer' is required`,
      "permission_denied",
    );
  return { principal: ctx.principal, team: `user:${ctx.principal}` };
}

function keyCaller(key: VirtualKey): Caller {
  return { principal: key.user ?? key.id, team: key.team, key };
}

/** 403 unless the key may use the model (a route name, or a virtual prefix such as `rag:`). */
export function checkModelAllowed(caller: Caller, model: string): void {
  const allowed = caller.key?.models;
  if (!allowed || allowed.some((m) => m === model || (m.endsWith(":") && model.startsWith(m)))) return;
  throw new LlmError(
    "denied",
    `API key ${caller.key?.id} may not use model '${model}'.`,
    "model_not_allowed",
    "model",
  );
}
