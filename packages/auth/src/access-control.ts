import type { AuditLog } from "@keel/audit";
import { currentContext, type KeelConfig } from "@keel/core";
import type { MetadataStore } from "@keel/metadata";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { enforceAccess } from "./access-middleware";
import { mountAuthRoutes } from "./auth-routes";
import {
  ANONYMOUS,
  type Identity,
  identityFromLambda,
  identityFromLaptop,
  identityFromUsers,
  runsInLambda,
} from "./identify";
import { ResourcePermissions } from "./resource-permissions";
import { UsersStore } from "./users-store";

/**
 * How callers are identified:
 * - `laptop`: plain `keel dev`, one trusted user holding every role (names from headers);
 * - `users`: `keel dev --auth`, users and hashed tokens in the metadata store, team scoping.
 * Whatever the mode, a request served by Lambda takes its identity only from the API Gateway
 * authorizer (JWT claims or IAM caller) and never from headers.
 */
export type AuthMode = "laptop" | "users";

export interface AccessControlOptions {
  mode: AuthMode;
  store: MetadataStore;
  audit: AuditLog;
  config: KeelConfig["auth"];
  defaultPrincipal: string;
  runExperiment?: (runId: string) => Promise<string>;
  experimentByName?: (name: string) => Promise<string>;
  traceExperiment?: (traceId: string) => Promise<string>;
  loggedModelExperiment?: (modelId: string) => Promise<string>;
}

export interface AccessControl {
  mode: AuthMode;
  users: UsersStore;
  resources: ResourcePermissions;
  /** The caller of one request (may throw 401 for credentials that do not verify). */
  identify(c: Context): Promise<Identity>;
  /** The one enforcing middleware (runs after the context is set, before every handler). */
  enforce: MiddlewareHandler;
  /** The users and permissions API. */
  routes(app: Hono): void;
}

export function createAccessControl(opts: AccessControlOptions): AccessControl {
  const users = new UsersStore(opts.store, opts.audit);
  const resources = new ResourcePermissions(opts.store, opts.audit);
  const scoped = opts.mode === "users";
  return {
    mode: opts.mode,
    users,
    resources,
    async identify(c) {
      if (runsInLambda(c.env)) return identityFromLambda(c.env, opts.config);
      const header = (name: string) => c.req.header(name);
      // The LLM gateway's virtual keys are not platform tokens: the gateway verifies them itself.
      if (/^Bearer\s+sk-keel-/i.test(header("authorization") ?? "")) return ANONYMOUS;
      return scoped ? identityFromUsers(header, users) : identityFromLaptop(header, opts.defaultPrincipal);
    },
    enforce: enforceAccess({
      audit: opts.audit,
      resources: scoped ? resources : undefined,
      runExperiment: opts.runExperiment,
      experimentByName: opts.experimentByName,
      traceExperiment: opts.traceExperiment,
      loggedModelExperiment: opts.loggedModelExperiment,
      isAnonymous: () => (currentContext() as Identity).anonymous === true,
    }),
    routes: (app) => mountAuthRoutes(app, users, resources),
  };
}
