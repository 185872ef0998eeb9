import { type AuditLog, auditFirst } from "@keel/audit";
import { type TeamSettings, teamSchema } from "@keel/contract";
import { type Clock, currentPrincipal } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";
import { ReadThroughCache } from "./read-through-cache";

const PK = "llm#team";
const SPEND = "llm#spend";
const ALERT = "llm#alert";

export type { TeamSettings };

export interface BudgetAlert {
  team: string;
  period: string;
  threshold: number;
  spent: number;
  amount: number;
}

/** `2026-12` or `2026-12-07` (UTC): the budget period `now` falls in. */
export function periodOf(now: number, period: "day" | "month"): string {
  const day = Math.floor(now / 86_400_000);
  if (day !== lastDay.day) lastDay = { day, iso: new Date(now).toISOString() }; // one Date per day, not per request
  return period === "day" ? lastDay.iso.slice(0, 10) : lastDay.iso.slice(0, 7);
}
let lastDay = { day: Number.NaN, iso: "" };

/**
 * Teams' limits and budgets (audited settings), and spend per team per period: an atomic
 * counter in the metadata store, so a hard stop holds across processes. A threshold alert is
 * raised once per period (a conditional write claims it) as an `llm.budget.alert` audit event
 * and through `onAlert` (SNS in AWS).
 */
export class Teams {
  private readonly cache: ReadThroughCache<TeamSettings | null>;
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly onAlert?: (a: BudgetAlert) => Promise<void> | void,
    private readonly ttlMs = 2000,
    private readonly onWriteError?: (e: unknown) => void,
    /** How long cost gathers before one increment writes it (this process counts it at once). */
    private readonly spendWriteMs = 200,
  ) {
    this.cache = new ReadThroughCache(
      async (team) =>
        ((await this.store.get({ pk: PK, sk: team }))?.settings as TeamSettings | undefined) ?? null,
      { ttlMs, now: () => clock.now() },
    );
  }

  async get(team: string): Promise<TeamSettings | undefined> {
    return (await this.cache.get(team)) ?? undefined;
  }

  /** As `get`, synchronously when the team's settings are cached (no promise on the request path). */
  getNow(team: string): TeamSettings | undefined | Promise<TeamSettings | undefined> {
    const hit = this.cache.peek(team);
    return hit ? (hit.value ?? undefined) : this.get(team);
  }

  async put(team: string, input: unknown): Promise<TeamSettings> {
    const parsed = teamSchema.safeParse(input);
    if (!parsed.success)
      throw new LlmError(
        "invalid",
        `invalid team settings: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    const settings = parsed.data;
    await auditFirst(
      this.audit,
      {
        action: "llm.team.put",
        resource: `llm-team:${team}`,
        state: { ...settings, by: currentPrincipal() },
      },
      (mark) => this.store.put({ pk: PK, sk: team, settings, ...mark }),
    );
    this.cache.set(team, settings);
    return settings;
  }

  async list(): Promise<Array<{ team: string; settings: TeamSettings; spent?: number }>> {
    await this.flush();
    const items = await this.store.queryAll({ pk: PK });
    return Promise.all(
      items.map(async (i) => {
        const settings = i.settings as TeamSettings;
        return {
          team: i.sk,
          settings,
          ...(settings.budget ? { spent: await this.spent(i.sk, settings) } : {}),
        };
      }),
    );
  }

  async spent(team: string, settings?: TeamSettings): Promise<number> {
    await this.flush(team); // this process's gathered cost first: it reads its own spend
    const budget = (settings ?? (await this.get(team)))?.budget;
    const period = periodOf(this.clock.now(), budget?.period ?? "month");
    const item = await this.store.get({ pk: SPEND, sk: `${team}#${period}` });
    return (item?.usd as number | undefined) ?? 0;
  }

  /** This process's view of each team's spend per period (`team#period`). */
  private readonly spends = new Map<string, Spend>();

  private spendOf(team: string, period: string): Spend {
    const id = `${team}#${period}`;
    let s = this.spends.get(id);
    if (!s) {
      s = { team, period, stored: 0, fetchedAt: Number.NEGATIVE_INFINITY, pending: 0, writing: 0 };
      this.spends.set(id, s);
      // Only the current period's counters are kept.
      for (const [k, old] of this.spends)
        if (old.period !== period && !old.pending && !old.writing && !old.flushing) this.spends.delete(k);
    }
    return s;
  }

  /** Writes this process's pending spend (of one team, or all) and raises the alerts it crossed. */
  async flush(team?: string): Promise<void> {
    const of = [...this.spends.values()].filter((s) => !team || s.team === team);
    await Promise.all(
      of.map(async (s) => {
        // Twice at most: what was added while a write was in flight, without spinning on a failing store.
        for (let i = 0; i < 2 && (s.flushing || s.pending > 0); i++) await this.writeSpend(s, true);
      }),
    );
  }

  /**
   * 429 insufficient_quota when the team's hard-stop budget for this period is spent: the
   * shared counter as last read or written (re-read after `ttlMs`, in the background from half
   * of it) plus this process's
   * spend not yet written, so a process always sees its own requests' cost at once.
   */
  async checkBudget(team: string): Promise<void> {
    await this.checkBudgetNow(team);
  }

  /**
   * As `checkBudget`, synchronously (undefined, or a throw) when the team's settings and spend
   * are cached; a promise only when one of them must be read.
   */
  checkBudgetNow(team: string): Promise<void> | undefined {
    const settings = this.getNow(team);
    return settings instanceof Promise
      ? settings.then((t) => this.budgetCheck(team, t))
      : this.budgetCheck(team, settings);
  }

  private budgetCheck(team: string, settings: TeamSettings | undefined): Promise<void> | undefined {
    const b = settings?.budget;
    if (!b?.hardStop) return undefined;
    const s = this.spendOf(team, periodOf(this.clock.now(), b.period));
    const age = this.clock.now() - s.fetchedAt;
    // Refresh ahead: past half its ttl the shared counter is re-read in the background while
    // this request is decided on it; past the ttl the request waits for the read.
    const stale = age > this.ttlMs;
    // After a failed read the background one waits a quarter of the ttl (a failing store is not
    // asked by every request); a request past the ttl always waits for a read.
    const retry = s.readFailedAt === undefined || this.clock.now() - s.readFailedAt >= this.ttlMs / 4;
    if (age * 2 > this.ttlMs && !s.writing && (stale || retry)) {
      if (!s.reading) {
        const began = this.clock.now(); // the counter is as old as the read that fetched it began
        s.reading = this.store
          .get({ pk: SPEND, sk: `${team}#${s.period}` })
          .then(
            (item) => {
              if (!s.writing) s.stored = (item?.usd as number | undefined) ?? 0;
              s.fetchedAt = began;
              s.readFailedAt = undefined;
            },
            (e) => {
              s.readFailedAt = this.clock.now();
              throw e;
            },
          )
          .finally(() => {
            s.reading = undefined;
          });
        s.reading.catch(() => undefined); // a failed background read is retried later
      }
      if (stale) return s.reading.then(() => this.overBudget(team, s, b));
    }
    this.overBudget(team, s, b);
    return undefined;
  }

  private overBudget(team: string, s: Spend, b: NonNullable<TeamSettings["budget"]>): void {
    const spent = s.stored + s.writing + s.pending;
    if (spent >= b.amount)
      throw new LlmError(
        "budget",
        `Team ${team} has spent its budget for this ${b.period} (${spent.toFixed(4)} of ${b.amount} USD).`,
        "budget_exceeded",
      );
  }

  /**
   * Adds a request's cost to the team's spend: counted at once in this process, written to the
   * shared counter in the background (one increment per team for all the cost gathered since the
   * last). Returns the share of the budget spent (undefined without a budget).
   */
  async addSpend(team: string, usd: number): Promise<number | undefined> {
    const now = this.addSpendNow(team, usd);
    return now instanceof Promise ? await now : now;
  }

  /** As `addSpend`, synchronously when the team's settings are cached. */
  addSpendNow(team: string, usd: number): number | undefined | Promise<number | undefined> {
    const settings = this.getNow(team);
    return settings instanceof Promise
      ? settings.then((t) => this.spend(team, usd, t))
      : this.spend(team, usd, settings);
  }

  private spend(team: string, usd: number, settings: TeamSettings | undefined): number | undefined {
    const b = settings?.budget;
    if (usd <= 0 && !b) return undefined;
    const s = this.spendOf(team, periodOf(this.clock.now(), b?.period ?? "month"));
    if (usd > 0) {
      s.pending += usd;
      void this.writeSpend(s, false);
    }
    return b ? (s.stored + s.writing + s.pending) / b.amount : undefined;
  }

  /**
   * Starts (or joins) the background write of a team's pending spend: one increment in flight at
   * a time, gathering what `spendWriteMs` brings (64 callers made one write every few requests).
   */
  private writeSpend(s: Spend, now: boolean): Promise<void> {
    if (now) s.wake?.(); // a flush does not wait out the gathering
    s.flushing ??= (
      now
        ? Promise.resolve()
        : new Promise<void>((r) => {
            const timer = setTimeout(r, this.spendWriteMs);
            s.wake = () => {
              clearTimeout(timer);
              r();
            };
          })
    )
      .then(() => this.drain(s))
      .finally(() => {
        s.flushing = undefined;
        // Cost added after the last increment went out (a failed write waits for the next request).
        if (s.pending > 0 && !s.failed) void this.writeSpend(s, false);
      });
    return s.flushing;
  }

  private async drain(s: Spend): Promise<void> {
    s.wake = undefined;
    s.failed = false;
    while (s.pending > 0) {
      const usd = s.pending;
      s.pending = 0;
      s.writing += usd;
      let total: number;
      try {
        total = await this.store.increment({ pk: SPEND, sk: `${s.team}#${s.period}` }, "usd", usd);
      } catch (e) {
        s.pending += usd; // kept for the next write
        s.failed = true;
        this.onWriteError?.(e);
        return;
      } finally {
        s.writing -= usd;
      }
      s.stored = total;
      s.fetchedAt = this.clock.now();
      await this.raiseAlerts(s, total, usd).catch((e) => this.onWriteError?.(e));
    }
  }

  private async raiseAlerts(s: Spend, total: number, usd: number): Promise<void> {
    const b = (await this.get(s.team))?.budget;
    if (!b) return;
    for (const threshold of b.alerts) {
      if (total < threshold * b.amount || total - usd >= threshold * b.amount) continue;
      try {
        await this.store.put(
          { pk: ALERT, sk: `${s.team}#${s.period}#${threshold}` },
          { condition: { exists: false } },
        );
      } catch (e) {
        if (isConditionFailed(e)) continue;
        throw e;
      }
      const alert = { team: s.team, period: s.period, threshold, spent: total, amount: b.amount };
      await this.audit.append({ action: "llm.budget.alert", resource: `llm-team:${s.team}`, state: alert });
      await this.onAlert?.(alert);
    }
  }
}

/** One team's spend in one period, as this process sees it. */
interface Spend {
  team: string;
  period: string;
  /** The shared counter as last read or written. */
  stored: number;
  fetchedAt: number;
  /** Cost counted here, not yet sent. */
  pending: number;
  /** Cost in an increment in flight. */
  writing: number;
  flushing?: Promise<void>;
  /** Ends the gathering wait of the write `flushing` starts. */
  wake?: () => void;
  failed?: boolean;
  reading?: Promise<void>;
  /** When the last read of the shared counter failed. */
  readFailedAt?: number;
}
