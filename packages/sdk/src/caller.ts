import type { CallOutput, RouteSpec } from "@keel/contract";
import { type CallArgs, callRoute } from "./call";
import type { HttpTransport } from "./http";

/** What the area facades call through: one contract route, typed from its schemas. */
export type Caller = <R extends RouteSpec>(route: R, ...args: CallArgs<R>) => Promise<CallOutput<R>>;

export function callerFor(http: HttpTransport): Caller {
  return (route, ...args) => callRoute(http, route, args[0]);
}
