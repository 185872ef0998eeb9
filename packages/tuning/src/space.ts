import { badTuning } from "./errors";
import type { Rng } from "./rng";

/**
 * The search space: one spec per parameter, plain JSON so it is stored with the experiment and
 * read back by a restarted controller. A parameter with `when` exists only while the named
 * earlier parameters hold one of the given values (conditional parameters).
 */
export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;
export type When = Record<string, ParamValue | ParamValue[]>;

export type ParameterSpec =
  | { type: "uniform"; low: number; high: number; when?: When }
  | { type: "logUniform"; low: number; high: number; when?: When }
  | { type: "int"; low: number; high: number; log?: boolean; when?: When }
  | { type: "choice"; values: ParamValue[]; when?: When };

export type Space = Record<string, ParameterSpec>;

type Opts = { when?: When };

export const uniform = (low: number, high: number, opts: Opts = {}): ParameterSpec => ({
  type: "uniform",
  low,
  high,
  ...opts,
});
export const logUniform = (low: number, high: number, opts: Opts = {}): ParameterSpec => ({
  type: "logUniform",
  low,
  high,
  ...opts,
});
export const intRange = (low: number, high: number, opts: Opts & { log?: boolean } = {}): ParameterSpec => ({
  type: "int",
  low,
  high,
  ...opts,
});
export const choice = (values: ParamValue[], opts: Opts = {}): ParameterSpec => ({
  type: "choice",
  values: [...values],
  ...opts,
});

/** Checks bounds, choices and that `when` names earlier choice parameters; throws INVALID_PARAMETER_VALUE. */
export function validateSpace(space: Space): void {
  const names = Object.keys(space);
  if (!names.length) throw badTuning("parameters: the search space needs at least one parameter");
  names.forEach((name, i) => {
    const p = space[name];
    const at = `parameters.${name}`;
    if (p.type === "choice") {
      if (!p.values.length) throw badTuning(`${at}: a choice needs at least one value`);
      if (new Set(p.values).size !== p.values.length)
        throw badTuning(`${at}: choice values must be distinct`);
    } else {
      if (!Number.isFinite(p.low) || !Number.isFinite(p.high) || !(p.low < p.high))
        throw badTuning(`${at}: needs finite low < high (got ${p.low}, ${p.high})`);
      if ((p.type === "logUniform" || (p.type === "int" && p.log)) && p.low <= 0)
        throw badTuning(`${at}: a log-scaled range needs low > 0`);
      if (p.type === "int" && (!Number.isInteger(p.low) || !Number.isInteger(p.high)))
        throw badTuning(`${at}: intRange bounds must be integers`);
    }
    for (const ref of Object.keys(p.when ?? {})) {
      const j = names.indexOf(ref);
      if (j < 0 || j >= i) throw badTuning(`${at}: 'when' names "${ref}", which is not an earlier parameter`);
    }
  });
}

/** Whether a parameter exists given the values chosen so far. */
export function isActive(spec: ParameterSpec, chosen: Params): boolean {
  for (const [ref, allowed] of Object.entries(spec.when ?? {})) {
    if (!(ref in chosen)) return false;
    const list = Array.isArray(allowed) ? allowed : [allowed];
    if (!list.includes(chosen[ref])) return false;
  }
  return true;
}

export const isLog = (p: ParameterSpec) => p.type === "logUniform" || (p.type === "int" && p.log === true);

/** Numeric parameters live in an internal space: log-scaled ones as their logarithm, ints widened by 0.5. */
export function internalBounds(p: Exclude<ParameterSpec, { type: "choice" }>): [number, number] {
  const lo = p.type === "int" ? p.low - 0.5 : p.low;
  const hi = p.type === "int" ? p.high + 0.5 : p.high;
  return isLog(p) ? [Math.log(Math.max(lo, p.low * 0.5)), Math.log(hi)] : [lo, hi];
}

export function toInternal(p: Exclude<ParameterSpec, { type: "choice" }>, v: number): number {
  return isLog(p) ? Math.log(v) : v;
}

export function fromInternal(p: Exclude<ParameterSpec, { type: "choice" }>, x: number): number {
  const v = isLog(p) ? Math.exp(x) : x;
  if (p.type === "int") return Math.min(p.high, Math.max(p.low, Math.round(v)));
  return Math.min(p.high, Math.max(p.low, v));
}

/** One value drawn from the parameter's prior. */
export function sampleParam(p: ParameterSpec, rng: Rng): ParamValue {
  if (p.type === "choice") return p.values[rng.int(p.values.length)];
  const [lo, hi] = internalBounds(p);
  return fromInternal(p, rng.uniform(lo, hi));
}

/** A full configuration drawn from the priors, conditional parameters included only when active. */
export function sampleSpace(space: Space, rng: Rng): Params {
  const out: Params = {};
  for (const [name, p] of Object.entries(space)) if (isActive(p, out)) out[name] = sampleParam(p, rng);
  return out;
}

/** The grid values of one parameter: every choice, or `points` evenly spaced (log-spaced when log-scaled). */
export function gridValues(p: ParameterSpec, points: number): ParamValue[] {
  if (p.type === "choice") return [...p.values];
  if (p.type === "int" && p.high - p.low + 1 <= points)
    return Array.from({ length: p.high - p.low + 1 }, (_, i) => p.low + i);
  const [lo, hi] = isLog(p) ? [Math.log(p.low), Math.log(p.high)] : [p.low, p.high];
  const vals = Array.from({ length: points }, (_, i) =>
    fromInternal(p, points === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (points - 1)),
  );
  return [...new Set(vals)];
}

/** Every grid configuration in a fixed order (conditional parameters expanded only where active). */
export function gridOf(space: Space, points: number): Params[] {
  let configs: Params[] = [{}];
  for (const [name, p] of Object.entries(space)) {
    const values = gridValues(p, points);
    configs = configs.flatMap((c) => (isActive(p, c) ? values.map((v) => ({ ...c, [name]: v })) : [c]));
  }
  return configs;
}
