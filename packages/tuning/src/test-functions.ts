import { type Space, uniform } from "./space";

/**
 * Standard global-optimization test functions (minimized), for benchmarks and tests of search.
 * Branin: 2-d, three global minima of 0.397887. Hartmann-6: 6-d on [0,1]^6, minimum -3.32237.
 */
export interface TestFunction {
  name: string;
  space: Space;
  minimum: number;
  f(x: Record<string, number>): number;
}

export const branin: TestFunction = {
  name: "branin",
  space: { x1: uniform(-5, 10), x2: uniform(0, 15) },
  minimum: 0.397887,
  f({ x1, x2 }) {
    const b = 5.1 / (4 * Math.PI ** 2);
    const c = 5 / Math.PI;
    const t = 1 / (8 * Math.PI);
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
  },
};

const A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((r) => r.map((v) => v * 1e-4));
const ALPHA = [1, 1.2, 3, 3.2];

export const hartmann6: TestFunction = {
  name: "hartmann6",
  space: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`x${i + 1}`, uniform(0, 1)])),
  minimum: -3.32237,
  f(x) {
    const v = Array.from({ length: 6 }, (_, i) => x[`x${i + 1}`]);
    let s = 0;
    for (let i = 0; i < 4; i++) {
      let inner = 0;
      for (let j = 0; j < 6; j++) inner += A[i][j] * (v[j] - P[i][j]) ** 2;
      s += ALPHA[i] * Math.exp(-inner);
    }
    return -s;
  },
};
