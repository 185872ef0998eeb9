import { describe, expect, it } from "vitest";
import { deploymentsServing } from "./deployment-lineage";

describe("deploymentsServing", () => {
  const all = [
    { name: "fraud", stable: { model: "m", version: "1" }, canary: { model: "m", version: "2", weight: 10 } },
    { name: "fraud-shadow", stable: { model: "other", version: "1" }, shadow: { model: "m", version: "2" } },
  ];

  it("names each deployment serving a version with its role and share of traffic", () => {
    expect(deploymentsServing(all, "m", "1")).toEqual([{ name: "fraud", role: "stable", traffic: 0.9 }]);
    expect(deploymentsServing(all, "m", "2")).toEqual([
      { name: "fraud", role: "canary", traffic: 0.1 },
      { name: "fraud-shadow", role: "shadow", traffic: 0 },
    ]);
    expect(deploymentsServing(all, "m", "3")).toEqual([]);
  });
});
