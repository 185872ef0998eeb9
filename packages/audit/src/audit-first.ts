import { randomUUID } from "node:crypto";
import type { VerifiableEvent } from "./chain";
import type { AuditEvent, AuditEventInput, AuditLog, VerifyResult } from "./port";

/**
 * What a state write carries to name the audit event that announced it: the event's sequence
 * number and the change id the event's state holds. An item written with a mark always has
 * its event in the chain, because the event is appended first.
 */
export interface AuditMark {
  auditSeq: number;
  changeId: string;
}

/**
 * Write-ahead audit: appends the event naming the intended change (its state gains a
 * `changeId`) and returns the mark for the state write that follows. A crash between the two
 * leaves an event without state (an intended change, never applied), never state without an event.
 */
export async function announce(audit: AuditLog, input: AuditEventInput): Promise<AuditMark> {
  const changeId = randomUUID();
  const state =
    input.state !== null && typeof input.state === "object" && !Array.isArray(input.state)
      ? { ...input.state, changeId }
      : { value: input.state ?? null, changeId };
  const event = await audit.append({ ...input, state });
  return { auditSeq: event.seq, changeId };
}

/** The action of the event recording that an announced change failed before it was written. */
export const NOT_APPLIED_ACTION = "audit.change.not_applied";

/**
 * Announces the change, then writes it with the mark. When the write fails, a second event
 * records that the announced change was not applied (a crash records nothing: the change stays
 * announced and unapplied, which `keel audit verify` accepts) and the error is raised.
 */
export async function auditFirst<T>(
  audit: AuditLog,
  input: AuditEventInput,
  write: (mark: AuditMark) => Promise<T>,
): Promise<T> {
  const mark = await announce(audit, input);
  try {
    return await write(mark);
  } catch (e) {
    await audit
      .append({
        action: NOT_APPLIED_ACTION,
        resource: input.resource,
        state: { ...mark, action: input.action, error: e instanceof Error ? e.message : String(e) },
      })
      .catch(() => undefined);
    throw e;
  }
}

/** An item of protected state and the mark of the audit event that last changed it. */
export interface AuditedItem {
  /** How a report names the item, e.g. "model fraud v3 in Production". */
  label: string;
  auditSeq?: number;
  changeId?: string;
  /** Whether the event at `auditSeq` names this change (its resource and the state it set). */
  names(event: AuditEvent): boolean;
}

/** A port each area with protected state provides, so the audit verifier needs none of them. */
export interface AuditedState {
  listAuditedState(): AsyncIterable<AuditedItem>;
}

/** The items whose mark names no event of the chain (or an event of another resource or change). */
export async function unauditedState(
  sources: AuditedState[],
  events: (seqs: number[]) => AsyncIterable<AuditEvent>,
): Promise<string[]> {
  const wanted = new Map<number, AuditedItem[]>();
  const missing: string[] = [];
  for (const source of sources) {
    for await (const item of source.listAuditedState()) {
      if (item.auditSeq === undefined || item.changeId === undefined) missing.push(item.label);
      else wanted.set(item.auditSeq, [...(wanted.get(item.auditSeq) ?? []), item]);
    }
  }
  const found = new Set<AuditedItem>();
  if (wanted.size) {
    for await (const e of events([...wanted.keys()].sort((a, b) => a - b))) {
      const changeId = (e.state as { changeId?: unknown } | undefined)?.changeId;
      for (const item of wanted.get(e.seq) ?? []) {
        if (item.changeId === changeId && item.names(e)) found.add(item);
      }
    }
  }
  for (const items of wanted.values()) for (const i of items) if (!found.has(i)) missing.push(i.label);
  return missing.sort();
}

/**
 * The chain's verification followed by the state check: every protected item the sources list
 * must carry the mark of an event that exists and names its change. Any that does not fails
 * the verification, naming the items.
 */
export async function verifyWithState(
  chain: VerifyResult,
  events: (seqs: number[]) => AsyncIterable<AuditEvent>,
  sources: AuditedState[],
  /** Where the not-applied changes come from: the log (listed), or those noted while verifying. */
  audit?: Pick<AuditLog, "list"> | { notApplied: NotApplied[] },
): Promise<VerifyResult> {
  if (!chain.ok || sources.length === 0) return chain;
  const missing = await unauditedState(sources, events);
  if (!missing.length) {
    if (!audit) return chain;
    return { ...chain, notApplied: "list" in audit ? await notApplied(audit) : audit.notApplied };
  }
  return {
    ok: false,
    count: chain.count,
    lastHash: chain.lastHash,
    reason: missing.map((m) => `state without audit event: ${m}`).join("; "),
    stateWithoutEvent: missing,
  };
}

/** An announced change whose write failed (recorded by `auditFirst`): intended, never applied. */
export interface NotApplied {
  seq: number;
  action: string;
  resource: string;
}

/** The announced changes recorded as not applied (at most the latest 1000 pages' worth). */
export async function notApplied(audit: Pick<AuditLog, "list">): Promise<NotApplied[]> {
  const out: NotApplied[] = [];
  let pageToken: string | undefined;
  do {
    const page = await audit.list({ action: NOT_APPLIED_ACTION, limit: 1000, pageToken });
    for (const e of page.events) out.push(toNotApplied(e, e.state));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/**
 * Passes the chain's events through, noting into `into` those that record a change as not
 * applied: the same list `notApplied` reads, without a second pass over the whole trail.
 */
export async function* notingNotApplied(
  events: AsyncIterable<VerifiableEvent>,
  into: NotApplied[],
): AsyncGenerator<VerifiableEvent> {
  for await (const e of events) {
    if (e.action === NOT_APPLIED_ACTION)
      into.push(toNotApplied(e, e.stateJson ? parseOrNone(e.stateJson) : e.state));
    yield e;
  }
}

function toNotApplied(e: Pick<AuditEvent, "seq" | "resource">, state: unknown): NotApplied {
  const s = (state ?? {}) as { auditSeq?: number; action?: string };
  return { seq: s.auditSeq ?? e.seq, action: s.action ?? "", resource: e.resource };
}

function parseOrNone(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}
