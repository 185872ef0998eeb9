import type { ChatMessage } from "./openai-types";
import type { Guardrails, PiiKind } from "./routes";

/** Findings by kind (`card`, `rrn`, ... or a configured pattern's name). */
export type Findings = Record<string, number>;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * The detectors, in the order they run (each sees the text the previous ones redacted, so a
 * phone number is never also reported as an account number):
 * - rrn: Korean resident registration number YYMMDD-GNNNNNN (date-checked, gender digit 1-8);
 * - card: 13-19 digits, optionally grouped by spaces or hyphens, passing the Luhn check;
 * - phone: Korean numbers (010-1234-5678, 02-123-4567, +82 10 ...) and +<country> numbers;
 * - account: bank account numbers as banks write them, 3-4 hyphenated digit groups of 10-14 digits;
 * - email.
 */
const DETECTORS: Array<{ kind: PiiKind; re: RegExp; check?: (m: string) => boolean }> = [
  { kind: "rrn", re: /(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?[1-8]\d{6}(?!\d)/g },
  {
    kind: "card",
    re: /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g,
    check: (m) => luhn(m.replace(/\D/g, "")),
  },
  {
    kind: "phone",
    re: /(?<![\d+])(?:\+82[- ]?(?:0)?|0)(?:1[016789]|2|[3-6][1-5]|70)[- ]?\d{3,4}[- ]?\d{4}(?!\d)|\+(?!82)\d{1,3}[- ]?\d{2,4}[- ]?\d{3,4}[- ]?\d{4}(?!\d)/g,
  },
  {
    kind: "account",
    re: /(?<![\d-])\d{2,6}-\d{2,6}-\d{2,7}(?:-\d{1,3})?(?![\d-])/g,
    check: (m) => {
      const n = m.replace(/\D/g, "").length;
      return n >= 10 && n <= 14;
    },
  },
  { kind: "email", re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
];

const scanners = new WeakMap<object, PiiScanner>();

/** One route's compiled scanner, built once per guardrails object (routes are cached, so per route version). */
export function scannerFor(cfg: Pick<Guardrails, "detectors" | "patterns">): PiiScanner {
  let s = scanners.get(cfg);
  if (!s) {
    s = new PiiScanner(cfg);
    scanners.set(cfg, s);
  }
  return s;
}

export interface ScanResult {
  text: string;
  findings: Findings;
}

/** Compiled detectors of one route's guardrails. */
export class PiiScanner {
  private readonly detectors: Array<{ kind: string; re: RegExp; check?: (m: string) => boolean }>;
  constructor(cfg: Pick<Guardrails, "detectors" | "patterns">) {
    this.detectors = [
      ...DETECTORS.filter((d) => cfg.detectors.includes(d.kind)),
      ...cfg.patterns.map((p) => ({ kind: p.name, re: new RegExp(p.regex, "g") })),
    ];
  }

  /** The text with every finding replaced by `[REDACTED:<kind>]`, and the findings. */
  scan(text: string, findings: Findings = {}, partial = false): ScanResult {
    let out = text;
    for (const d of this.detectors) {
      out = out.replace(d.re, (m, ...rest) => {
        // Still growing (a stream's newest text): a match at the very end may not be whole yet.
        const at = rest.find((x) => typeof x === "number") as number;
        if (partial && at + m.length === rest[rest.indexOf(at) + 1].length) return m;
        if (d.check && !d.check(m)) return m;
        findings[d.kind] = (findings[d.kind] ?? 0) + 1;
        return `[REDACTED:${d.kind}]`;
      });
    }
    return { text: out, findings };
  }
}

/** Scans every message's text (string content and text parts); returns redacted copies. */
export function scanMessages(
  scanner: PiiScanner,
  messages: ChatMessage[],
  findings: Findings,
): ChatMessage[] {
  return messages.map((m) => {
    if (typeof m.content === "string") return { ...m, content: scanner.scan(m.content, findings).text };
    if (Array.isArray(m.content))
      return {
        ...m,
        content: m.content.map((p) =>
          p && typeof p === "object" && typeof p.text === "string"
            ? { ...p, text: scanner.scan(p.text, findings).text }
            : p,
        ),
      };
    return m;
  });
}

/** Longest text a detector must see whole (a grouped card number is 23 characters; e-mails rarely pass 64). */
export const STREAM_WINDOW = 64;

/**
 * Streamed output on a sliding window: text is released only once it is more than
 * STREAM_WINDOW characters behind the newest, after the whole held-back window was scanned,
 * so a number split across chunks is still seen whole. `end()` releases the rest.
 */
export class StreamScanner {
  private held = "";
  readonly findings: Findings = {};
  constructor(
    private readonly scanner: PiiScanner,
    private readonly window = STREAM_WINDOW,
  ) {}

  get found(): boolean {
    return Object.keys(this.findings).length > 0;
  }

  push(delta: string): string {
    this.held = this.scanner.scan(this.held + delta, this.findings, true).text;
    const cut = this.held.length - this.window;
    if (cut <= 0) return "";
    const out = this.held.slice(0, cut);
    this.held = this.held.slice(cut);
    return out;
  }

  end(): string {
    const out = this.scanner.scan(this.held, this.findings).text;
    this.held = "";
    return out;
  }
}
