import type { CallOutput, RouteId, RouteSpec, RoutesById } from "@keel/contract";
import { AuditClient } from "./audit";
import { type CallArgs, callRoute, resolveRoute } from "./call";
import { type Caller, callerFor } from "./caller";
import { DeploymentsClient } from "./deployments";
import { FeaturesClient } from "./features";
import { type ClientOptions, HttpTransport } from "./http";
import { MonitoringClient } from "./monitoring";
import { PipelinesClient } from "./pipelines";
import { RegistryClient } from "./registry";
import { ServingClient } from "./serving";
import { TrackingClient } from "./tracking";

/**
 * The typed Keel client for notebooks, scripts, the CLI and apps: `call` reaches any route of
 * the contract (input and output typed from its schemas); each area's facade (tracking.ts,
 * registry.ts, ...) wraps `call` for the common tasks. Over HTTP (`{ url, token }`) or in
 * process (`{ app }`).
 *
 *   const keel = new KeelClient({ url: "http://localhost:5000" });
 *   const exp = await keel.tracking.ensureExperiment("fraud");
 *   const { deployments } = await keel.call("deployments.list");
 */
export class KeelClient {
  readonly http: HttpTransport;
  readonly tracking: TrackingClient;
  readonly registry: RegistryClient;
  readonly deployments: DeploymentsClient;
  readonly pipelines: PipelinesClient;
  readonly features: FeaturesClient;
  readonly monitoring: MonitoringClient;
  readonly audit: AuditClient;
  readonly serving: ServingClient;
  private readonly caller: Caller;

  constructor(opts: ClientOptions) {
    this.http = new HttpTransport(opts);
    this.caller = callerFor(this.http);
    this.tracking = new TrackingClient(this.http);
    this.registry = new RegistryClient(this.caller);
    this.deployments = new DeploymentsClient(this.caller);
    this.pipelines = new PipelinesClient(this.caller);
    this.features = new FeaturesClient(this.caller);
    this.monitoring = new MonitoringClient(this.caller);
    this.audit = new AuditClient(this.caller);
    this.serving = new ServingClient(this.caller);
  }

  /** Calls a route of the contract by operationId (`"deployments.get"`) or by its declaration. */
  call<Id extends RouteId>(route: Id, ...args: CallArgs<RoutesById[Id]>): Promise<CallOutput<RoutesById[Id]>>;
  call<R extends RouteSpec>(route: R, ...args: CallArgs<R>): Promise<CallOutput<R>>;
  call(route: RouteSpec | RouteId, ...args: unknown[]): Promise<unknown> {
    return callRoute(this.http, resolveRoute(route), args[0] as never);
  }
}
