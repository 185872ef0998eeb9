import { CqlOnlineStore } from "@keel/features";
import { expect, it } from "vitest";
import { CQL_ENV } from "../setup/cassandra";
import { onlineStoreSuite } from "./online-store.suite";

/** Started by tests/setup/cassandra.ts; its absence is a broken setup, not a reason to skip. */
function contactPoint(): string {
  const cp = process.env[CQL_ENV];
  if (!cp)
    throw new Error(`${CQL_ENV} is not set: tests/setup/cassandra.ts did not start the Cassandra node`);
  return cp;
}

const keyspace = `keel_test_${process.pid}`;
const make = (maxProtocolVersion?: number) => async () => {
  const store = new CqlOnlineStore({
    contactPoints: [contactPoint()],
    keyspace,
    localDataCenter: "datacenter1",
    manageSchema: true,
    maxProtocolVersion,
  });
  return { store, close: () => store.close() };
};

// Cassandra 2.1 speaks native protocol v3 only: pinned to v3 here, and negotiated below.
onlineStoreSuite("Cassandra 2.1 over CQL, protocol v3", make(3));

it("negotiates the protocol version itself and reads what v3 wrote", async () => {
  const { store, close } = await make()();
  try {
    await store.ensureSchema();
    const k = JSON.stringify(["negotiated"]);
    await store.write(
      { name: "negotiation", ttlSeconds: 0 },
      [{ entityKey: k, eventTs: 1, createdTs: 0, values: { a: 1 } }],
      2,
    );
    expect((await store.read("negotiation", [k]))[0]?.values).toEqual({ a: 1 });
  } finally {
    await close();
  }
});
