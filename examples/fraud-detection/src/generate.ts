import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { rng } from "./random";

export interface Transaction {
  transaction_id: string;
  user_id: string;
  merchant_id: string;
  amount: number;
  event_timestamp: Date;
  is_fraud: number;
}

export interface GenerateOptions {
  seed?: number;
  users?: number;
  merchants?: number;
  days?: number;
  /** First day of the data. */
  start?: Date;
  /**
   * Drift for the monitoring demo: amounts scale by this factor and users buy more often
   * (1 = the training distribution).
   */
  shift?: number;
}

const DAY = 86_400_000;

/**
 * Realistic card transactions with two fraud patterns:
 * - account takeover bursts: a compromised user suddenly makes 5-15 purchases within two hours
 *   at merchants they never use, for several times their usual amount;
 * - isolated unusual amounts: a single purchase of 6-12x the user's usual amount at a new merchant.
 * Each user has a spending scale, a purchase rate and a set of favourite merchants.
 */
export function generateTransactions(opts: GenerateOptions = {}): Transaction[] {
  const r = rng(opts.seed ?? 42);
  const users = opts.users ?? 1000;
  const merchants = opts.merchants ?? 400;
  const days = opts.days ?? 40;
  const start = (opts.start ?? new Date("2026-09-01T00:00:00Z")).getTime();
  const shift = opts.shift ?? 1;
  const end = start + days * DAY;
  const out: Transaction[] = [];
  let seq = 0;
  const tx = (user: string, merchant: number, amount: number, t: number, fraud: number) => {
    out.push({
      transaction_id: `t${(opts.seed ?? 42).toString(36)}-${(seq++).toString(36)}`,
      user_id: user,
      merchant_id: `m${String(merchant).padStart(4, "0")}`,
      amount: Math.round(amount * 100) / 100,
      event_timestamp: new Date(Math.floor(t)),
      is_fraud: fraud,
    });
  };
  for (let u = 0; u < users; u++) {
    const user = `u${String(u).padStart(5, "0")}`;
    const mu = 3.3 + 0.6 * r.normal();
    const perDay = (0.4 + 2.2 * r.next()) * (shift > 1 ? 1 + (shift - 1) * 0.5 : 1);
    const favourites = Array.from({ length: r.int(3, 9) }, () => r.int(0, merchants - 1));
    const amount = () => Math.exp(mu + 0.45 * r.normal()) * shift;
    for (let t = start + r.exp(perDay / DAY); t < end; t += r.exp(perDay / DAY)) {
      if (r.next() < 0.004) {
        tx(user, r.int(0, merchants - 1), amount() * (6 + 6 * r.next()), t, 1);
      } else {
        const m = r.next() < 0.9 ? r.pick(favourites) : r.int(0, merchants - 1);
        tx(user, m, amount(), t, 0);
      }
    }
    if (r.next() < 0.03) {
      let t = start + r.next() * (end - start - 2 * 3_600_000);
      const n = r.int(5, 15);
      for (let i = 0; i < n; i++) {
        t += r.exp(n / 7_200_000);
        tx(user, r.int(0, merchants - 1), amount() * (2 + 4 * r.next()), t, 1);
      }
    }
  }
  out.sort((a, b) => a.event_timestamp.getTime() - b.event_timestamp.getTime());
  return out;
}

export function writeTransactionsParquet(file: string, rows: Transaction[]): void {
  mkdirSync(dirname(file), { recursive: true });
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: "transaction_id", data: rows.map((r) => r.transaction_id), type: "STRING" },
      { name: "user_id", data: rows.map((r) => r.user_id), type: "STRING" },
      { name: "merchant_id", data: rows.map((r) => r.merchant_id), type: "STRING" },
      { name: "amount", data: rows.map((r) => r.amount), type: "DOUBLE" },
      { name: "event_timestamp", data: rows.map((r) => r.event_timestamp), type: "TIMESTAMP" },
      { name: "is_fraud", data: rows.map((r) => r.is_fraud), type: "INT32" },
    ],
  });
}
