import { Client, type ClientOptions, types } from "cassandra-driver";
import { identifier } from "../definitions";
import { invalidFeatures } from "../errors";
import { type CqlTlsOptions, cqlTransport } from "./cql-tls";
import {
  latestPerEntity,
  mapBounded,
  type OnlineRecord,
  type OnlineStore,
  type OnlineViewInfo,
  type OnlineWrite,
  type OnlineWriteResult,
  remainingTtlSeconds,
} from "./port";

export interface CqlOnlineOptions {
  /** "host" or "host:port" contact points. */
  contactPoints: string[];
  /** The port of contact points given without one (driver default 9042; Keyspaces 9142). */
  port?: number;
  keyspace: string;
  localDataCenter: string;
  /** Amazon Keyspaces: TLS (port 9142) and SigV4 auth from the default AWS credential chain. */
  keyspaces?: { region: string };
  /**
   * TLS to ScyllaDB/Cassandra, verified (system CAs plus `ca`). Required unless every contact
   * point is loopback: the constructor refuses a remote host without it. Keyspaces always uses TLS.
   */
  tls?: CqlTlsOptions;
  /** Username/password auth (ScyllaDB Cloud, Cassandra with PasswordAuthenticator). */
  credentials?: { username: string; password: string };
  /**
   * Credentials read at connect time (e.g. from Secrets Manager for ScyllaDB Cloud), so the
   * store can be built synchronously and a rotated secret is picked up on reconnect.
   */
  credentialsProvider?: () => Promise<{ username: string; password: string; ca?: string }>;
  /** Highest native protocol version to negotiate (Cassandra 2.1 speaks only v3). */
  maxProtocolVersion?: number;
  /** Creates the keyspace (SimpleStrategy, RF 1) and table: for local nodes, not Keyspaces. */
  manageSchema?: boolean;
  /** Point reads in flight per `read` call. */
  readConcurrency?: number;
  writeConcurrency?: number;
  table?: string;
}

/**
 * OnlineStore over CQL (Amazon Keyspaces, ScyllaDB, Apache Cassandra). One partition per
 * (entity key, feature view), so a hot view spreads across the ring and a read touches one
 * partition. Rows are written `USING TIMESTAMP` = event time in microseconds: Cassandra's
 * last-write-wins then keeps the newest event however late an older one arrives, without a
 * read or a lightweight transaction. Only features of native protocol v3 are used (no unset,
 * no SELECT JSON, no PER PARTITION LIMIT) so the same statements run on v3 and v4 servers.
 */
export class CqlOnlineStore implements OnlineStore {
  private client?: Client;
  private connecting?: Promise<Client>;
  /** The driver options this store connects with (auth is added at connect for Keyspaces). */
  readonly clientOptions: ClientOptions;
  private readonly table: string;
  private readonly insertCql: string;
  private readonly selectCql: string;

  constructor(private readonly opts: CqlOnlineOptions) {
    for (const [what, v] of [
      ["keyspace", opts.keyspace],
      ["table", opts.table ?? "online_features"],
    ]) {
      if (!identifier.safeParse(v).success)
        throw invalidFeatures(`CQL ${what} '${v}' is not a valid identifier`);
    }
    this.table = `${opts.keyspace}.${opts.table ?? "online_features"}`;
    this.insertCql = `INSERT INTO ${this.table} (entity_key, feature_view, event_ts, created_ts, payload) VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?`;
    this.selectCql = `SELECT event_ts, created_ts, payload FROM ${this.table} WHERE entity_key = ? AND feature_view = ?`;
    const options: ClientOptions = {
      contactPoints: opts.contactPoints,
      localDataCenter: opts.localDataCenter,
      protocolOptions:
        opts.maxProtocolVersion || opts.port
          ? {
              ...(opts.maxProtocolVersion ? { maxVersion: opts.maxProtocolVersion } : {}),
              ...(opts.port ? { port: opts.port } : {}),
            }
          : undefined,
      queryOptions: { prepare: true, consistency: types.consistencies.localOne },
      pooling: { coreConnectionsPerHost: { [types.distance.local]: 2 } },
    };
    if (opts.credentials) {
      options.credentials = opts.credentials;
    }
    if (opts.keyspaces) {
      const host = opts.contactPoints[0]?.split(":")[0];
      options.sslOptions = { host, servername: host, rejectUnauthorized: true };
      options.protocolOptions = { ...options.protocolOptions, port: opts.port ?? 9142 };
    } else if (cqlTransport(opts.contactPoints, opts.tls) === "tls") {
      options.sslOptions = { rejectUnauthorized: true, ...(opts.tls?.ca ? { ca: [opts.tls.ca] } : {}) };
    }
    this.clientOptions = options;
  }

  /** The connected client, created on first use (once, also under concurrent first calls). */
  private connect(): Promise<Client> {
    this.connecting ??= (async () => {
      const options = { ...this.clientOptions };
      if (this.opts.credentialsProvider) {
        const { username, password, ca } = await this.opts.credentialsProvider();
        options.credentials = { username, password };
        // A CA kept with the credentials verifies the nodes' certificates (TLS already decided).
        if (ca && options.sslOptions) options.sslOptions = { ...options.sslOptions, ca: [ca] };
      }
      if (this.opts.keyspaces) {
        // Loaded only for Keyspaces: the plugin pulls in the AWS SDK v2 credential chain.
        const plugin = await import("aws-sigv4-auth-cassandra-plugin");
        options.authProvider = new plugin.default.SigV4AuthProvider({ region: this.opts.keyspaces.region });
      }
      const client = new Client(options);
      try {
        await client.connect();
      } catch (e) {
        this.connecting = undefined;
        await client.shutdown().catch(() => {});
        throw e;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  async ensureSchema(): Promise<void> {
    const client = await this.connect();
    if (!this.opts.manageSchema) return;
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${this.opts.keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${this.table} (entity_key text, feature_view text, event_ts bigint, created_ts bigint, payload text, PRIMARY KEY ((entity_key, feature_view)))`,
    );
  }

  async write(view: OnlineViewInfo, rows: OnlineWrite[], nowMs: number): Promise<OnlineWriteResult> {
    const client = await this.connect();
    const latest = latestPerEntity(rows);
    let written = 0;
    let skipped = rows.length - latest.length;
    await mapBounded(latest, this.opts.writeConcurrency ?? 64, async (r) => {
      const left = remainingTtlSeconds(view.ttlSeconds, r.eventTs, nowMs);
      if (left !== undefined && left <= 0) {
        skipped++;
        return;
      }
      // Every parameter is bound (TTL 0 = none): protocol v3 has no `unset`, and an unbound
      // value would be written as a null tombstone.
      await client.execute(
        this.insertCql,
        [
          r.entityKey,
          view.name,
          types.Long.fromNumber(r.eventTs),
          types.Long.fromNumber(r.createdTs),
          JSON.stringify(r.values),
          left ?? 0,
          types.Long.fromNumber(r.eventTs).multiply(1000),
        ],
        { prepare: true, consistency: types.consistencies.localQuorum },
      );
      written++;
    });
    return { written, skipped };
  }

  async read(view: string, entityKeys: string[]): Promise<Array<OnlineRecord | undefined>> {
    const client = await this.connect();
    return mapBounded(entityKeys, this.opts.readConcurrency ?? 64, async (key) => {
      const res = await client.execute(this.selectCql, [key, view], { prepare: true });
      const row = res.first();
      if (!row) return undefined;
      return {
        eventTs: Number(row.event_ts),
        createdTs: Number(row.created_ts ?? 0),
        values: JSON.parse(row.payload),
      };
    });
  }

  async close(): Promise<void> {
    await this.client?.shutdown();
    this.client = undefined;
    this.connecting = undefined;
  }
}
