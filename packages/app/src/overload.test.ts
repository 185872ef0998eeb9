import { describe, expect, it } from "vitest";
import { type LagSource, overloadGate } from "./overload";

/** A lag source whose median the test sets, counting resets. */
function fakeLag() {
  const state = { median: undefined as number | undefined, resets: 0 };
  const lag: LagSource = { medianMs: () => state.median, reset: () => void state.resets++ };
  return { state, lag };
}

describe("overloadGate", () => {
  it("turns on above the limit, holds between windows, and turns off only below half of it", () => {
    const { state, lag } = fakeLag();
    let t = 0;
    const gate = overloadGate({ maxLagMs: 100, windowMs: 250, now: () => t, lag });
    state.median = 20;
    t = 250;
    expect(gate.overloaded()).toBe(false);
    state.median = 150;
    t = 300; // within the window: the last decision holds
    expect(gate.overloaded()).toBe(false);
    t = 500;
    expect(gate.overloaded()).toBe(true);
    state.median = 80; // below the limit but above half of it: still overloaded (hysteresis)
    t = 750;
    expect(gate.overloaded()).toBe(true);
    state.median = 40;
    t = 1000;
    expect(gate.overloaded()).toBe(false);
    state.median = 80; // not above the limit: stays normal
    t = 1250;
    expect(gate.overloaded()).toBe(false);
    expect(state.resets).toBe(5);
  });

  it("keeps its state through a window without samples, and is off at 0", () => {
    const { state, lag } = fakeLag();
    let t = 0;
    const gate = overloadGate({ maxLagMs: 100, windowMs: 250, now: () => t, lag });
    state.median = 500;
    t = 250;
    expect(gate.overloaded()).toBe(true);
    state.median = undefined;
    t = 500;
    expect(gate.overloaded()).toBe(true);
    state.median = 10_000;
    const off = overloadGate({ maxLagMs: 0, now: () => t, lag });
    t = 1000;
    expect(off.overloaded()).toBe(false);
  });
});
