import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "@keel/core";
import {
  AthenaOfflineStore,
  CqlOnlineStore,
  createOfflineStore,
  createOnlineStore,
  DuckDbOfflineStore,
  DynamoDbOnlineStore,
} from "@keel/features";
import { describe, expect, it } from "vitest";

/** The one factory per port picks adapters from config alone; no connection is opened here. */
describe("store factories", () => {
  it("defaults to DynamoDB online and DuckDB offline under the data dir", () => {
    const config = loadConfig({}, { core: { dataDir: "/data/keel" } });
    expect(createOnlineStore(config)).toBeInstanceOf(DynamoDbOnlineStore);
    const offline = createOfflineStore(config);
    expect(offline).toBeInstanceOf(DuckDbOfflineStore);
    expect((offline as DuckDbOfflineStore).localPath("s3://bucket/driver/")).toBe(
      "/data/keel/offline/bucket/driver/",
    );
  });

  it("uses Athena over the Glue database and workgroup the stack names when the offline root is in S3", () => {
    const env = { KEEL_OFFLINE_ROOT: "s3://lake/offline/", KEEL_STAGE: "prod" };
    const store = createOfflineStore(
      loadConfig({ ...env, KEEL_GLUE_DATABASE: "lake_db", KEEL_ATHENA_WORKGROUP: "lake-wg" }),
    );
    expect(store).toBeInstanceOf(AthenaOfflineStore);
    expect((store as unknown as { opts: { database: string; workgroup: string } }).opts).toMatchObject({
      database: "lake_db",
      workgroup: "lake-wg",
    });
    expect(() => createOfflineStore(loadConfig(env))).toThrow(/KEEL_GLUE_DATABASE and KEEL_ATHENA_WORKGROUP/);
  });

  it("connects to Amazon Keyspaces with TLS on 9142 (SigV4 added at connect)", async () => {
    const store = createOnlineStore(
      loadConfig({
        KEEL_ONLINE_STORE: "cql",
        KEEL_CQL_CONTACT_POINTS: "cassandra.eu-west-1.amazonaws.com",
        KEEL_CQL_FLAVOR: "keyspaces",
        KEEL_CQL_PORT: "9142",
        KEEL_CQL_LOCAL_DC: "eu-west-1",
        AWS_REGION: "eu-west-1",
      }),
    );
    expect(store).toBeInstanceOf(CqlOnlineStore);
    const opts = (store as CqlOnlineStore).clientOptions;
    expect(opts.protocolOptions?.port).toBe(9142);
    expect(opts.sslOptions).toMatchObject({
      host: "cassandra.eu-west-1.amazonaws.com",
      servername: "cassandra.eu-west-1.amazonaws.com",
      rejectUnauthorized: true,
    });
    expect(opts.localDataCenter).toBe("eu-west-1");
    // The plugin loads (with its AWS SDK v2 credential chain) and yields a driver auth provider.
    const plugin = await import("aws-sigv4-auth-cassandra-plugin");
    expect(typeof new plugin.default.SigV4AuthProvider({ region: "eu-west-1" }).newAuthenticator).toBe(
      "function",
    );
  });

  it("plain CQL (ScyllaDB, Cassandra) only to loopback nodes; remote nodes need TLS; contact points required", () => {
    const store = createOnlineStore(
      loadConfig({
        KEEL_ONLINE_STORE: "cql",
        KEEL_CQL_CONTACT_POINTS: "127.0.0.1:9042,localhost,[::1]:9043",
      }),
    ) as CqlOnlineStore;
    expect(store.clientOptions.contactPoints).toEqual(["127.0.0.1:9042", "localhost", "[::1]:9043"]);
    expect(store.clientOptions.sslOptions).toBeUndefined();
    const onPort = createOnlineStore(
      loadConfig({ KEEL_ONLINE_STORE: "cql", KEEL_CQL_CONTACT_POINTS: "127.0.0.1", KEEL_CQL_PORT: "19042" }),
    ) as CqlOnlineStore;
    expect(onPort.clientOptions.protocolOptions?.port).toBe(19042);
    expect(() => loadConfig({ KEEL_CQL_PORT: "nope" })).toThrow(/KEEL_CQL_PORT/);
    expect(() => createOnlineStore(loadConfig({ KEEL_ONLINE_STORE: "cql" }))).toThrow(
      /no CQL contact points/,
    );
  });

  it("refuses a remote ScyllaDB/Cassandra without TLS, naming the host, and verifies TLS when configured", () => {
    const remote = { KEEL_ONLINE_STORE: "cql", KEEL_CQL_CONTACT_POINTS: "127.0.0.1,10.0.0.2:9042" };
    expect(() => createOnlineStore(loadConfig(remote))).toThrow(/'10\.0\.0\.2' is not loopback.*require TLS/);
    const tls = createOnlineStore(loadConfig({ ...remote, KEEL_CQL_TLS: "true" })) as CqlOnlineStore;
    expect(tls.clientOptions.sslOptions).toEqual({ rejectUnauthorized: true });
    const dir = mkdtempSync(path.join(tmpdir(), "keel-ca-"));
    writeFileSync(path.join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
    const withCa = createOnlineStore(
      loadConfig({ ...remote, KEEL_CQL_CA_FILE: path.join(dir, "ca.pem") }),
    ) as CqlOnlineStore;
    expect(withCa.clientOptions.sslOptions).toEqual({
      rejectUnauthorized: true,
      ca: ["-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"],
    });
    expect(() =>
      createOnlineStore(loadConfig({ ...remote, KEEL_CQL_CA_FILE: path.join(dir, "missing.pem") })),
    ).toThrow(/cannot read the CQL CA file '.*missing\.pem': ENOENT/);
  });
});
