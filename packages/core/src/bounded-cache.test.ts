import { describe, expect, it } from "vitest";
import { BoundedCache } from "./bounded-cache";

describe("BoundedCache", () => {
  it("never holds more than maxEntries, evicting the least recently used", () => {
    const c = new BoundedCache<string, number>({ maxEntries: 3 });
    for (let i = 0; i < 1000; i++) {
      c.set(`k${i}`, i);
      expect(c.size).toBeLessThanOrEqual(3);
    }
    c.get("k997"); // used: k998 is now the least recently used
    c.set("new", 1);
    expect(c.get("k998")).toBeUndefined();
    expect(c.get("k997")).toBe(997);
    expect(c.get("k999")).toBe(999);
  });

  it("misses and drops an entry older than ttlMs", () => {
    let t = 0;
    const c = new BoundedCache<string, string>({ maxEntries: 10, ttlMs: 100, now: () => t });
    c.set("a", "x");
    t = 99;
    expect(c.get("a")).toBe("x");
    t = 100;
    expect(c.get("a")).toBeUndefined();
    expect(c.size).toBe(0);
  });
});
