import {
  AUDIT_PK,
  type AuditSink,
  exportBody,
  exportKey,
  exportMissing,
  RECONCILE_CURSOR_KEY,
  StoreAuditLog,
} from "@keel/audit";
import { fixedClock } from "@keel/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freshMetadataStore } from "../helpers/metadata";

/** A sink holding objects in memory, listing its keys in order the way S3 does (after `startAfter`). */
class MemorySink implements AuditSink {
  readonly objects = new Map<string, string>();
  async put(key: string, body: string): Promise<void> {
    this.objects.set(key, body);
  }
  async *keys(startAfter?: string): AsyncIterable<string> {
    for (const k of [...this.objects.keys()].sort()) if (startAfter === undefined || k > startAfter) yield k;
  }
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

describe("the scheduled gap check of the audit export", () => {
  let db: Awaited<ReturnType<typeof freshMetadataStore>>;
  let log: StoreAuditLog;
  let sink: MemorySink;
  beforeEach(async () => {
    db = await freshMetadataStore();
    // Events one minute apart from T0.
    log = new StoreAuditLog(db.store, fixedClock(T0, 60_000));
    sink = new MemorySink();
    for (let i = 1; i <= 10; i++) {
      const e = await log.append({ action: "test.event", resource: `r:${i}`, state: { i } });
      // The stream export "lost" events 3, 4 and 8.
      if (![3, 4, 8].includes(i)) await sink.put(exportKey(e.seq), exportBody(e));
    }
  });
  afterEach(async () => {
    await db?.close();
  });

  it("copies exactly the missing events, with the stream export's body, and advances its cursor", async () => {
    const r = await exportMissing({ audit: log, store: db.store, sink, clock: fixedClock(T0 + HOUR) });
    expect(r).toEqual({ checked: 10, copied: [3, 4, 8], missingInTable: [], reconciledSeq: 10 });
    const events = [];
    for await (const e of log.scan()) events.push(e);
    expect(sink.objects.size).toBe(10);
    for (const e of events) expect(sink.objects.get(exportKey(e.seq))).toBe(exportBody(e));
    expect((await db.store.get(RECONCILE_CURSOR_KEY))?.seq).toBe(10);

    // The next run starts after the cursor: nothing to copy, and a new gap is found.
    const e11 = await log.append({ action: "test.event", resource: "r:11" });
    await log.append({ action: "test.event", resource: "r:12" });
    const again = await exportMissing({
      audit: log,
      store: db.store,
      sink,
      clock: fixedClock(T0 + 2 * HOUR),
    });
    expect(again).toEqual({ checked: 2, copied: [11, 12], missingInTable: [], reconciledSeq: 12 });
    expect(sink.objects.get(exportKey(11))).toBe(exportBody(e11));
  });

  it("leaves events younger than the grace period to the stream export", async () => {
    // Events are at T0 + (seq-1) minutes; with a 15-minute grace at T0 + 20 min, seqs 1..6 are due.
    const r = await exportMissing({ audit: log, store: db.store, sink, clock: fixedClock(T0 + 20 * 60_000) });
    expect(r).toEqual({ checked: 6, copied: [3, 4], missingInTable: [], reconciledSeq: 6 });
    expect(sink.objects.has(exportKey(8))).toBe(false);
  });

  it("reports sequence numbers the table no longer holds (a deleted event), by number", async () => {
    // Direct store access stands in for a tamperer; IAM denies this to every Keel function.
    await db.store.delete({ pk: AUDIT_PK, sk: "E#000000000005" });
    await db.store.delete({ pk: AUDIT_PK, sk: "E#000000000008" });
    const r = await exportMissing({ audit: log, store: db.store, sink, clock: fixedClock(T0 + HOUR) });
    // 5 is still in the bucket (exported before the delete), 8 is gone from both: both are reported.
    expect(r.missingInTable).toEqual([5, 8]);
    expect(r.copied).toEqual([3, 4]);
    expect(r.reconciledSeq).toBe(10);
  });

  it("refuses a sink that cannot list what it holds", async () => {
    await expect(
      exportMissing({ audit: log, store: db.store, sink: { put: async () => undefined } }),
    ).rejects.toThrow(/cannot list/);
  });
});
