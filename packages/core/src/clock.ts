/** The one source of time, so tests can control it. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
export function fixedClock(start: number, step = 0): Clock {
  let t = start;
  return {
    now: () => {
      const v = t;
      t += step;
      return v;
    },
  };
}
