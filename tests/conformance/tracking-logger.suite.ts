import type { TrackingLogger } from "@keel/train";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** What a run holds once a logger has written to it, read back through the adapter's own store. */
export interface LoggedRun {
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Values of one metric key, ordered by step. */
  metric(key: string): Promise<Array<{ value: number; step: number }>>;
  artifact(path: string): Promise<Uint8Array | undefined>;
}

export interface TrackingLoggerUnderTest {
  /** A logger for a fresh run, and how to read that run back. */
  newRun(): Promise<{ logger: TrackingLogger; read: () => Promise<LoggedRun> }>;
  close(): Promise<void>;
}

/**
 * The TrackingLogger contract (packages/train/src/tracking.ts), run against every adapter:
 * what a trainer logs is what the run holds once `flush()` resolved, across the MLflow API's
 * per-request limits (1000 metrics, 100 params, 100 tags a batch).
 */
export function trackingLoggerSuite(name: string, make: () => Promise<TrackingLoggerUnderTest>) {
  describe(`TrackingLogger conformance: ${name}`, () => {
    let ut: TrackingLoggerUnderTest;
    beforeAll(async () => {
      ut = await make();
    });
    afterAll(async () => {
      await ut?.close();
    });

    it("stores params as strings, as MLflow does", async () => {
      const { logger, read } = await ut.newRun();
      await logger.logParams({ lr: 0.1, depth: 6, balanced: true, loss: "logloss" });
      await logger.flush();
      expect((await read()).params).toMatchObject({
        lr: "0.1",
        depth: "6",
        balanced: "true",
        loss: "logloss",
      });
    });

    it("stores every metric value at its step once flushed", async () => {
      const { logger, read } = await ut.newRun();
      await logger.logMetrics({ loss: 0.5, auc: 0.7 }, 0);
      await logger.logMetrics({ loss: 0.25, auc: 0.8 }, 1);
      await logger.logMetrics({ loss: 0.125 }, 2);
      await logger.flush();
      const run = await read();
      expect(await run.metric("loss")).toEqual([
        { value: 0.5, step: 0 },
        { value: 0.25, step: 1 },
        { value: 0.125, step: 2 },
      ]);
      expect((await run.metric("auc")).map((m) => m.value)).toEqual([0.7, 0.8]);
    });

    it("keeps everything beyond one request's limits (1100 metric values, 150 params, 120 tags)", async () => {
      const { logger, read } = await ut.newRun();
      for (let step = 0; step < 1100; step++) await logger.logMetrics({ curve: step / 1000 }, step);
      await logger.logParams(Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i])));
      await logger.setTags(Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`t${i}`, `v${i}`])));
      await logger.flush();
      const run = await read();
      const curve = await run.metric("curve");
      expect(curve).toHaveLength(1100);
      expect(curve[1099]).toEqual({ value: 1.099, step: 1099 });
      expect(Object.keys(run.params).filter((k) => k.startsWith("p"))).toHaveLength(150);
      expect(run.tags.t119).toBe("v119");
    });

    it("stores artifacts byte for byte under nested paths", async () => {
      const { logger, read } = await ut.newRun();
      const bytes = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) % 256);
      await logger.logArtifact("model/weights.bin", bytes);
      await logger.logArtifact("baseline/profile.json", new TextEncoder().encode('{"features":[]}'));
      await logger.flush();
      const run = await read();
      expect(Buffer.from((await run.artifact("model/weights.bin")) ?? [])).toEqual(Buffer.from(bytes));
      expect(new TextDecoder().decode(await run.artifact("baseline/profile.json"))).toBe('{"features":[]}');
      expect(await run.artifact("model/absent.bin")).toBeUndefined();
    });

    it("sets tags, a later value replacing an earlier one", async () => {
      const { logger, read } = await ut.newRun();
      await logger.setTags({ team: "risk", stage: "draft" });
      await logger.setTags({ stage: "final" });
      await logger.flush();
      expect((await read()).tags).toMatchObject({ team: "risk", stage: "final" });
    });
  });
}
