import { type ClientOptions, HttpTransport } from "./http";
import { TrackingClient } from "./tracking";

/**
 * The typed Keel client for notebooks, scripts and apps. Each area's methods live in their
 * own class and file (tracking.ts, ...) sharing one transport; add an area as a field here.
 *
 *   const keel = new KeelClient({ url: "http://localhost:5000" });
 *   const exp = await keel.tracking.ensureExperiment("fraud");
 */
export class KeelClient {
  readonly http: HttpTransport;
  readonly tracking: TrackingClient;

  constructor(opts: ClientOptions) {
    this.http = new HttpTransport(opts);
    this.tracking = new TrackingClient(this.http);
  }
}
