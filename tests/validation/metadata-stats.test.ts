import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDbValidationEngine, defineExpectations, evaluateSuite } from "@keel/validation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The DuckDB engine takes null counts and integer bounds from the Parquet footers and counts
 * integer uniqueness with a bitmap: the outcomes must be those of the plain aggregates, also
 * when a file lacks a column (its statistics then say nothing) or a column holds nulls.
 */
const dir = mkdtempSync(join(tmpdir(), "keel-validate-stats-"));
const suite = defineExpectations({
  name: "stats",
  expectations: [
    { kind: "unique", columns: ["id"] },
    { kind: "unique", name: "code_unique", columns: ["code"] },
    { kind: "null_rate", column: "code", max: 0.1 },
    { kind: "null_rate", name: "extra_nulls", column: "extra", max: 0.2 },
    { kind: "range", column: "id", min: 0, max: 1_000_000 },
    { kind: "range", name: "id_small", column: "id", max: 100 },
  ],
});

beforeAll(async () => {
  const engine = new DuckDbValidationEngine();
  mkdirSync(join(dir, "ds"));
  // 1000 ids 0..999 with 7 repeated (ids 0..6 appear twice), codes with 50 nulls, `extra` only in file 1.
  await engine.query(
    `COPY (SELECT i AS id, CASE WHEN i % 20 = 0 THEN NULL ELSE i * 3 END AS code, i AS extra FROM range(1000) t(i))
     TO '${join(dir, "ds/part-1.parquet")}' (FORMAT PARQUET)`,
  );
  await engine.query(
    `COPY (SELECT i AS id, 5000 + i AS code FROM range(7) t(i)) TO '${join(dir, "ds/part-2.parquet")}' (FORMAT PARQUET)`,
  );
  await engine.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("validation from Parquet statistics", () => {
  it("counts duplicates, nulls and bounds exactly, reading what the footers say", async () => {
    const engine = new DuckDbValidationEngine();
    const sent: string[] = [];
    const query = engine.query.bind(engine);
    engine.query = (sql: string) => {
      sent.push(sql);
      return query(sql);
    };
    const r = await evaluateSuite(engine, suite, join(dir, "ds/"));
    await engine.close();
    const by = Object.fromEntries(r.results.map((x) => [x.name, x]));
    expect(r.rows).toBe(1007);
    expect(by["id.unique"]).toMatchObject({ passed: false, observed: { duplicates: 7 } });
    expect(by.code_unique).toMatchObject({ passed: true, observed: { duplicates: 0 } });
    expect(by["code.null_rate"].observed.nulls).toBe(50);
    // `extra` is absent from part-2: its 7 rows are nulls the footers do not count.
    expect(by.extra_nulls.observed.nulls).toBe(7);
    expect(by["id.range"]).toMatchObject({ passed: true, observed: { violations: 0, min: 0, max: 999 } });
    expect(by.id_small).toMatchObject({ passed: false, observed: { violations: 899 } });
    const aggregate = sent.find((s) => s.startsWith("SELECT count(*)"))!;
    expect(aggregate).toContain('bitstring_agg("id", 0, 999)');
    expect(aggregate).not.toContain('count(*) FILTER (WHERE "code" IS NULL)');
    expect(aggregate).toContain('count(*) FILTER (WHERE "extra" IS NULL)');
  });
});
