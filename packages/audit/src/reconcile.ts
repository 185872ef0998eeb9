import { type Clock, systemClock } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import type { StoreAuditLog } from "./dynamodb-audit-log";
import { type AuditSink, exportBody, exportKey } from "./exporter";

/** How far the gap check has confirmed the sink holds every event (its own cursor). */
export const RECONCILE_CURSOR_KEY = { pk: "AUDIT_EXPORT", sk: "RECONCILED" };

export interface ReconcileOptions {
  audit: Pick<StoreAuditLog, "scan">;
  store: MetadataStore;
  /** The Object Lock sink; it must list its keys (`keys`). */
  sink: AuditSink;
  /**
   * Events younger than this are left to the stream export, which may still be delivering
   * them (default 15 minutes): only older events missing from the sink are gaps.
   */
  graceMs?: number;
  /** Stop after checking this many events (one invocation's budget; the next run continues). */
  maxEvents?: number;
  clock?: Clock;
}

export interface ReconcileResult {
  /** Events compared with the sink in this run. */
  checked: number;
  /** Sequence numbers that were missing from the sink and have now been copied there. */
  copied: number[];
  /** Sequence numbers the sink holds or the chain skips but the table no longer has (deleted items). */
  missingInTable: number[];
  /** Every event up to this sequence number is known to be in the sink. */
  reconciledSeq: number;
}

/**
 * The scheduled gap check of the Object Lock export: walks the audit trail after the last
 * reconciled sequence number next to the sink's keys (both in sequence order), copies every
 * event older than the grace period that the sink lacks, and reports sequence numbers absent
 * from the table (a chain that skips a number, or an object without its item). The cursor is
 * advanced with a write conditional on its previous value, so two runs never move it back.
 */
export async function exportMissing(opts: ReconcileOptions): Promise<ReconcileResult> {
  if (!opts.sink.keys) throw new Error("the audit sink cannot list its keys: no gap check possible");
  const clock = opts.clock ?? systemClock;
  const cutoff = clock.now() - (opts.graceMs ?? 15 * 60_000);
  const maxEvents = opts.maxEvents ?? 50_000;
  const cursor = await opts.store.get(RECONCILE_CURSOR_KEY);
  const from = Number(cursor?.seq ?? 0);

  const held = opts.sink.keys(from === 0 ? undefined : exportKey(from))[Symbol.asyncIterator]();
  let nextHeld = await nextSeq(held);
  const result: ReconcileResult = { checked: 0, copied: [], missingInTable: [], reconciledSeq: from };
  let expected = from + 1;
  for await (const e of opts.audit.scan(from)) {
    if (e.time > cutoff || result.checked >= maxEvents) break;
    for (; expected < e.seq; expected++) result.missingInTable.push(expected);
    while (nextHeld !== undefined && nextHeld < e.seq) {
      if (!result.missingInTable.includes(nextHeld)) result.missingInTable.push(nextHeld);
      nextHeld = await nextSeq(held);
    }
    if (nextHeld === e.seq) nextHeld = await nextSeq(held);
    else {
      await opts.sink.put(exportKey(e.seq), exportBody(e));
      result.copied.push(e.seq);
    }
    result.checked++;
    result.reconciledSeq = e.seq;
    expected = e.seq + 1;
  }
  result.missingInTable.sort((a, b) => a - b);
  if (result.reconciledSeq !== from) {
    try {
      await opts.store.put(
        { ...RECONCILE_CURSOR_KEY, seq: result.reconciledSeq },
        { condition: cursor ? { path: "seq", eq: from } : { exists: false } },
      );
    } catch (e) {
      // Another run moved the cursor meanwhile; what this run copied is the same objects.
      if (!isConditionFailed(e)) throw e;
    }
  }
  return result;
}

/** The next key of the sink that is an event document (`<12 digits>.json`), as its sequence number. */
async function nextSeq(it: AsyncIterator<string>): Promise<number | undefined> {
  for (;;) {
    const r = await it.next();
    if (r.done) return undefined;
    const m = /^(\d{12})\.json$/.exec(r.value);
    if (m) return Number(m[1]);
  }
}
