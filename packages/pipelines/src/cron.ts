import { PipelineError } from "./errors";

/**
 * Five-field cron in UTC ("minute hour day-of-month month day-of-week"), with `*`, lists,
 * ranges, steps and the aliases @hourly, @daily, @weekly, @monthly. As in Vixie cron, when
 * both day fields are restricted a day matching either one fires. Day-of-week 0 and 7 are Sunday.
 */
export interface CronSpec {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  dayRestricted: boolean;
  weekdayRestricted: boolean;
  fields: string[];
}

const ALIASES: Record<string, string> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
};
const RANGES: Array<[string, number, number]> = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day-of-month", 1, 31],
  ["month", 1, 12],
  ["day-of-week", 0, 7],
];

function bad(expr: string, why: string): PipelineError {
  return new PipelineError("INVALID_PARAMETER_VALUE", `invalid cron "${expr}": ${why}`);
}

function field(expr: string, text: string, [name, lo, hi]: [string, number, number]): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw bad(expr, `${name} field "${part}" is not *, n, a-b or a list of them with optional /step`);
    const from = m[1] === "*" ? lo : Number(m[2]);
    const to = m[1] === "*" ? hi : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? hi : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < lo || to > hi || from > to || step < 1)
      throw bad(expr, `${name} field "${part}" is outside ${lo}-${hi}`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expr: string): CronSpec {
  const text = ALIASES[expr.trim()] ?? expr.trim();
  const fields = text.split(/\s+/);
  if (fields.length !== 5)
    throw bad(expr, `expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`);
  const [minutes, hours, days, months, weekdays] = fields.map((f, i) => field(expr, f, RANGES[i]));
  if (weekdays.delete(7)) weekdays.add(0);
  return {
    minutes,
    hours,
    days,
    months,
    weekdays,
    dayRestricted: fields[2] !== "*",
    weekdayRestricted: fields[4] !== "*",
    fields,
  };
}

function dayMatches(c: CronSpec, d: Date): boolean {
  const dom = c.days.has(d.getUTCDate());
  const dow = c.weekdays.has(d.getUTCDay());
  if (c.dayRestricted && c.weekdayRestricted) return dom || dow;
  return dom && dow;
}

/** The first whole minute strictly after `after` (ms since epoch) that the expression matches. */
export function nextFireTime(expr: string | CronSpec, after: number): number {
  const c = typeof expr === "string" ? parseCron(expr) : expr;
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  // Skips whole months/days/hours that cannot match; 5 years of days bounds impossible dates (Feb 30).
  for (let i = 0; i < 200_000; i++) {
    const d = new Date(t);
    const [y, mo, day, h] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()];
    if (!c.months.has(mo + 1)) t = Date.UTC(y, mo + 1, 1);
    else if (!dayMatches(c, d)) t = Date.UTC(y, mo, day + 1);
    else if (!c.hours.has(h)) t = Date.UTC(y, mo, day, h + 1);
    else if (!c.minutes.has(d.getUTCMinutes())) t += 60_000;
    else return t;
  }
  throw bad(c.fields.join(" "), "it never fires");
}

/**
 * The same schedule as an EventBridge Scheduler expression `cron(min hour dom month dow year)`:
 * one day field must be `?` and days of week count 1-7 from Sunday.
 */
export function toEventBridgeCron(expr: string): string {
  const c = parseCron(expr);
  const [min, hour, dom, month] = c.fields;
  if (c.dayRestricted && c.weekdayRestricted) {
    throw bad(expr, "EventBridge cannot restrict both day-of-month and day-of-week; use one of them");
  }
  const ebDow = c.weekdayRestricted
    ? [...c.weekdays]
        .sort((a, b) => a - b)
        .map((d) => d + 1)
        .join(",")
    : "?";
  return `cron(${min} ${hour} ${c.weekdayRestricted ? "?" : dom} ${month} ${ebDow} *)`;
}
