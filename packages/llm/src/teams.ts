import { type AuditLog, auditFirst } from "@keel/audit";
import { type TeamSettings, teamSchema } from "@keel/contract";
import { BoundedCache, type Clock, currentPrincipal } from "@keel/core";
import { isConditionFailed, type MetadataStore } from "@keel/metadata";
import { LlmError } from "./errors";

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
  const iso = new Date(now).toISOString();
  return period === "day" ? iso.slice(0, 10) : iso.slice(0, 7);
}

/**
 * Teams' limits and budgets (audited settings), and spend per team per period: an atomic
 * counter in the metadata store, so a hard stop holds across processes. A threshold alert is
 * raised once per period (a conditional write claims it) as an `llm.budget.alert` audit event
 * and through `onAlert` (SNS in AWS).
 */
export class Teams {
  private readonly cache: BoundedCache<string, TeamSettings | null>;
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly onAlert?: (a: BudgetAlert) => Promise<void> | void,
    ttlMs = 2000,
  ) {
    this.cache = new BoundedCache({ maxEntries: 10_000, ttlMs, now: () => clock.now() });
  }

  async get(team: string): Promise<TeamSettings | undefined> {
    const hit = this.cache.get(team);
    if (hit !== undefined) return hit ?? undefined;
    const item = await this.store.get({ pk: PK, sk: team });
    const settings = item ? (item.settings as TeamSettings) : null;
    this.cache.set(team, settings);
    return settings ?? undefined;
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
    const budget = (settings ?? (await this.get(team)))?.budget;
    const period = periodOf(this.clock.now(), budget?.period ?? "month");
    const item = await this.store.get({ pk: SPEND, sk: `${team}#${period}` });
    return (item?.usd as number | undefined) ?? 0;
  }

  private readonly pending = new Map<string, Set<Promise<void>>>();

  /** Keeps a spend write in flight until done (failures are logged by the caller's promise). */
  trackSpend(team: string, write: Promise<void>): void {
    let set = this.pending.get(team);
    if (!set) {
      set = new Set();
      this.pending.set(team, set);
    }
    const p: Promise<void> = write
      .catch(() => undefined)
      .finally(() => {
        set.delete(p);
        if (!set.size) this.pending.delete(team);
      });
    set.add(p);
  }

  /** Waits for this process's spend writes (of one team, or all). */
  async flush(team?: string): Promise<void> {
    const sets = team ? [this.pending.get(team)] : [...this.pending.values()];
    await Promise.all(sets.flatMap((s) => [...(s ?? [])]));
  }

  /** 429 insufficient_quota when the team's hard-stop budget for this period is spent. */
  async checkBudget(team: string): Promise<void> {
    if (this.pending.has(team)) await this.flush(team);
    const settings = await this.get(team);
    const b = settings?.budget;
    if (!b?.hardStop) return;
    const spent = await this.spent(team, settings);
    if (spent >= b.amount)
      throw new LlmError(
        "budget",
        `Team ${team} has spent its budget for this ${b.period} (${spent.toFixed(4)} of ${b.amount} USD).`,
        "budget_exceeded",
      );
  }

  /** Adds a request's cost to the team's spend; raises the alerts it crossed. Returns the share spent. */
  async addSpend(team: string, usd: number): Promise<number | undefined> {
    const settings = await this.get(team);
    const b = settings?.budget;
    const period = periodOf(this.clock.now(), b?.period ?? "month");
    if (usd <= 0 && !b) return undefined;
    const total =
      usd > 0 ? await this.store.increment({ pk: SPEND, sk: `${team}#${period}` }, "usd", usd) : 0;
    if (!b) return undefined;
    for (const threshold of b.alerts) {
      if (total < threshold * b.amount || total - usd >= threshold * b.amount) continue;
      try {
        await this.store.put(
          { pk: ALERT, sk: `${team}#${period}#${threshold}` },
          { condition: { exists: false } },
        );
      } catch (e) {
        if (isConditionFailed(e)) continue;
        throw e;
      }
      const alert = { team, period, threshold, spent: total, amount: b.amount };
      await this.audit.append({ action: "llm.budget.alert", resource: `llm-team:${team}`, state: alert });
      await this.onAlert?.(alert);
    }
    return total / b.amount;
  }
}
