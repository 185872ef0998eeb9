import { PiiScanner, StreamScanner } from "@keel/llm";
import { describe, expect, it } from "vitest";

const all = new PiiScanner({
  detectors: ["rrn", "phone", "card", "account", "email"],
  patterns: [{ name: "employee", regex: "EMP-\\d{6}" }],
});

describe("PII detectors", () => {
  it("finds each kind and redacts it", () => {
    const r = all.scan(
      "RRN 900101-1234567, card 4111-1111-1111-1111, call 010-1234-5678 or +82 2-123-4567, " +
        "account 110-123-456789, mail kim.lee@bank.co.kr, staff EMP-004211",
    );
    expect(r.text).toBe(
      "RRN [REDACTED:rrn], card [REDACTED:card], call [REDACTED:phone] or [REDACTED:phone], " +
        "account [REDACTED:account], mail [REDACTED:email], staff [REDACTED:employee]",
    );
    expect(r.findings).toEqual({ rrn: 1, card: 1, phone: 2, account: 1, email: 1, employee: 1 });
  });

  it("checks card numbers with Luhn and RRNs with their date", () => {
    expect(all.scan("order 4111 1111 1111 1112").findings).toEqual({});
    expect(all.scan("5500 0000 0000 0004").findings).toEqual({ card: 1 });
    expect(all.scan("991332-1234567").findings).toEqual({}); // month 13
  });

  it("uses only the detectors a route enables", () => {
    const cards = new PiiScanner({ detectors: ["card"], patterns: [] });
    expect(cards.scan("kim@example.com 4111111111111111").text).toBe("kim@example.com [REDACTED:card]");
  });
});

describe("streamed output on a sliding window", () => {
  const stream = (text: string, size: number) => {
    const s = new StreamScanner(new PiiScanner({ detectors: ["card", "rrn", "phone"], patterns: [] }));
    const out: string[] = [];
    for (let i = 0; i < text.length; i += size) out.push(s.push(text.slice(i, i + size)));
    out.push(s.end());
    return { text: out.join(""), pieces: out, findings: s.findings };
  };

  it("catches a number split across chunks, whatever the chunk size", () => {
    const text = `${"Here is the number you asked for: ".repeat(3)}4111 1111 1111 1111 and RRN 900101-1234567. Done.`;
    for (const size of [1, 2, 3, 5, 8, 13]) {
      const r = stream(text, size);
      expect(r.text).not.toMatch(/1111|1234567/);
      expect(r.text).toContain("[REDACTED:card] and RRN [REDACTED:rrn]");
      expect(r.findings).toEqual({ card: 1, rrn: 1 });
    }
  });

  it("releases text as it comes once it is a window behind (no whole-answer buffering)", () => {
    const r = stream("a".repeat(500), 10);
    expect(r.pieces.filter((p) => p.length > 0).length).toBeGreaterThan(40);
    expect(r.text).toBe("a".repeat(500));
  });
});
