import { StoreAuditLog } from "@keel/audit";
import { KeyStore } from "@keel/llm";
import type { MetadataStore } from "@keel/metadata";
import { describe, expect, it } from "vitest";
import { freshStoreForFile } from "../helpers/metadata";

/**
 * A key revoked in one process (one Lambda instance) must stop working in every other within the
 * lookup cache's 2 s, even for an instance that sat idle: no request is answered from an
 * expired record while it is re-read.
 */
let store: MetadataStore;
let now = 10_000_000;
const clock = { now: () => now };
freshStoreForFile((s) => {
  store = s;
});

describe("virtual key revocation across processes", () => {
  it("refuses the first request after the cache's ttl in another process, idle or busy", async () => {
    const audit = new StoreAuditLog(store, clock);
    const admin = new KeyStore(store, audit, clock, 2000);
    const idle = new KeyStore(store, audit, clock, 2000);
    const busy = new KeyStore(store, audit, clock, 2000);
    const { key, record } = await admin.create({ team: "fraud", name: "svc" });
    expect((await idle.authenticate(key)).id).toBe(record.id);
    expect((await busy.authenticate(key)).id).toBe(record.id);

    await admin.revoke(record.id);
    await expect(admin.authenticate(key)).rejects.toThrow(/revoked/);
    // Within the ttl the other processes may still answer from their cache...
    now += 1000;
    expect((await busy.authenticate(key)).id).toBe(record.id);
    // ...but past it, the very first request waits for the store and is refused, even 9 s later.
    now += 1001;
    await expect(busy.authenticate(key)).rejects.toThrow(/revoked/);
    now += 8000;
    await expect(idle.authenticate(key)).rejects.toThrow(/revoked/);
  });
});
