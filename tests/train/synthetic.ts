import { type Dataset, Random } from "@keel/train";

/**
 * A seeded synthetic problem with interactions and a non-linearity, so trees have something
 * to find that a linear model cannot: y = 1 when a noisy score crosses a threshold
 * (classification) or the score itself (regression).
 */
export function syntheticData(
  n: number,
  F: number,
  seed: number,
  kind: "binary" | "regression" = "binary",
): Dataset {
  const rng = new Random(seed);
  const columns = Array.from({ length: F }, () => {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) c[i] = rng.next() * 10 - 5;
    return c;
  });
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = columns[0][i] + 0.3 * columns[1][i] * columns[2 % F][i] + 2 * Math.sin(columns[3 % F][i]);
    label[i] = kind === "binary" ? (s + rng.next() * 2 - 1 > 0.5 ? 1 : 0) : s + rng.next() * 0.1;
  }
  return { features: columns.map((_, f) => `f${f}`), columns, label };
}
