import { type AuditEvent, GENESIS_HASH, hashEvent, verifyChain } from "@keel/audit";
import { canonicalJson, digest, sha256 } from "@keel/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** Builds a valid chain from arbitrary event contents. */
function chain(
  contents: Array<{ principal: string; action: string; resource: string; state: unknown }>,
): AuditEvent[] {
  let prevHash = GENESIS_HASH;
  return contents.map((c, i) => {
    const base = {
      seq: i + 1,
      time: 1_700_000_000_000 + i,
      principal: c.principal,
      action: c.action,
      resource: c.resource,
      stateDigest: digest(c.state ?? null),
      requestId: `r${i}`,
      prevHash,
    };
    const e = { ...base, hash: hashEvent(base), state: c.state };
    prevHash = e.hash;
    return e;
  });
}

const content = fc.record({
  principal: fc.string({ minLength: 1 }),
  action: fc.string({ minLength: 1 }),
  resource: fc.string({ minLength: 1 }),
  state: fc.jsonValue(),
});

const FIELDS = ["time", "principal", "action", "resource", "requestId", "state"] as const;

describe("hashEvent", () => {
  it("is SHA-256 over the canonical JSON of the chained fields", () => {
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat(),
          time: fc.nat(),
          principal: fc.string({ unit: "binary" }),
          action: fc.string({ unit: "binary" }),
          resource: fc.string({ unit: "binary" }),
          stateDigest: fc.string(),
          requestId: fc.string({ unit: "binary" }),
          prevHash: fc.string(),
        }),
        (e) => {
          expect(hashEvent(e)).toBe(sha256(canonicalJson(e)));
        },
      ),
    );
  });
});

describe("verifyChain", () => {
  it("accepts every untouched chain", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(content, { maxLength: 30 }), async (cs) => {
        expect(await verifyChain(chain(cs))).toMatchObject({ ok: true, count: cs.length });
      }),
    );
  });

  it("names exactly the event whose field was changed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(content, { minLength: 1, maxLength: 30 }),
        fc.nat(),
        fc.constantFrom(...FIELDS),
        fc.string({ minLength: 1 }),
        async (cs, at, field, junk) => {
          const events = chain(cs);
          const i = at % events.length;
          const e = events[i] as unknown as Record<string, unknown>;
          const changed =
            field === "time" ? (e.time as number) + 1 : field === "state" ? { junk } : `${e[field]}${junk}`;
          events[i] = { ...events[i], [field]: changed };
          const r = await verifyChain(events);
          expect(r).toMatchObject({ ok: false, seq: i + 1, count: i });
        },
      ),
    );
  });

  it("names the first event after a removed or reordered one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(content, { minLength: 2, maxLength: 30 }), fc.nat(), async (cs, at) => {
        const events = chain(cs);
        const i = at % (events.length - 1);
        events.splice(i, 1);
        expect(await verifyChain(events)).toMatchObject({ ok: false, seq: i + 2, count: i });
      }),
    );
  });
});
