/**
 * A circuit breaker per deployment (in this process): `failures` consecutive failures open it
 * for `openMs`; then one trial request is let through (half-open), and its outcome closes or
 * re-opens the circuit.
 */
export class CircuitBreakers {
  private readonly state = new Map<string, { failures: number; openUntil: number; trial: boolean }>();
  constructor(
    private readonly now: () => number,
    private readonly failures = 5,
    private readonly openMs = 30_000,
  ) {}

  /** Whether a request may go to the deployment now (claims the half-open trial). */
  allow(id: string): boolean {
    const s = this.state.get(id);
    if (!s || s.failures < this.failures) return true;
    if (this.now() < s.openUntil || s.trial) return false;
    s.trial = true;
    return true;
  }

  isOpen(id: string): boolean {
    const s = this.state.get(id);
    return Boolean(s && s.failures >= this.failures && (this.now() < s.openUntil || s.trial));
  }

  success(id: string): void {
    this.state.delete(id);
  }

  failure(id: string): void {
    const s = this.state.get(id) ?? { failures: 0, openUntil: 0, trial: false };
    s.failures++;
    s.trial = false;
    if (s.failures >= this.failures) s.openUntil = this.now() + this.openMs;
    this.state.set(id, s);
  }
}
