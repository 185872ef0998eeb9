import {
  type Clause,
  EXPERIMENT_SEARCH,
  parseFilter,
  parseOrderBy,
  printFilter,
  RUN_SEARCH,
} from "@keel/tracking";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** The filter grammar on its own: canonical printing round-trips and bad text is a 400, never a crash. */
const nameChar = fc.constantFrom(..."abcxyzABZ019_-./: é".split(""));
const key = fc
  .array(nameChar, { minLength: 1, maxLength: 12 })
  .map((cs) => cs.join(""))
  .filter((k) => k.trim() !== "");
const text = fc.string({ maxLength: 12 });
const num = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));

const numericComparator = fc.constantFrom("=", "!=", "<", "<=", ">", ">=" as const);
const stringComparator = fc.constantFrom("=", "!=", "LIKE", "ILIKE" as const);

const clause: fc.Arbitrary<Clause> = fc.oneof(
  fc.record({ entity: fc.constant("metric" as const), key, comparator: numericComparator, value: num }),
  fc.record({
    entity: fc.constantFrom("param" as const, "tag" as const),
    key,
    comparator: stringComparator,
    value: text,
  }),
  fc.record({
    entity: fc.constantFrom("param" as const, "tag" as const),
    key,
    comparator: fc.constantFrom("IN" as const, "NOT IN" as const),
    value: fc.array(text, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    entity: fc.constantFrom("metric" as const, "param" as const, "tag" as const),
    key,
    comparator: fc.constantFrom("IS NULL" as const, "IS NOT NULL" as const),
    value: fc.constant(null),
  }),
  fc.record({
    entity: fc.constant("attribute" as const),
    key: fc.constantFrom("start_time", "end_time"),
    comparator: numericComparator,
    value: num,
  }),
  fc.record({
    entity: fc.constant("attribute" as const),
    key: fc.constantFrom("run_id", "run_name", "status", "user_id", "artifact_uri"),
    comparator: stringComparator,
    value: text,
  }),
  fc.record({
    entity: fc.constant("dataset" as const),
    key: fc.constantFrom("name", "digest", "context"),
    comparator: stringComparator,
    value: text,
  }),
);

describe("filter grammar", () => {
  it("parse(print(clauses)) gives the clauses back", () => {
    fc.assert(
      fc.property(fc.array(clause, { minLength: 1, maxLength: 5 }), (clauses) => {
        expect(parseFilter(printFilter(clauses), RUN_SEARCH)).toEqual(clauses);
      }),
      { numRuns: 300 },
    );
  });

  it("any text either parses or is INVALID_PARAMETER_VALUE", () => {
    const fragments = fc.constantFrom(
      "metrics.",
      "params.",
      "tags.",
      "attributes.",
      "`a b`",
      '"q"',
      "'v'",
      " = ",
      " != ",
      " < ",
      " >= ",
      " LIKE ",
      " IN ",
      " NOT IN ",
      " IS NULL",
      " and ",
      " OR ",
      "(",
      ")",
      ",",
      "1.5",
      "-2",
      "x",
      "status",
      "!",
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(fragments).map((f) => f.join("")),
        ),
        (s) => {
          try {
            parseFilter(s, RUN_SEARCH);
          } catch (e) {
            expect((e as { code?: string }).code).toBe("INVALID_PARAMETER_VALUE");
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("accepts MLflow's spellings: aliases, quoting, bare attributes, case-insensitive keywords", () => {
    expect(
      parseFilter(
        "metric.acc > 0.5 and params.\"learning rate\" like '%1' AND tags.`team x` ILIKE 'R%' and status = 'FINISHED'",
        RUN_SEARCH,
      ),
    ).toEqual([
      { entity: "metric", key: "acc", comparator: ">", value: 0.5 },
      { entity: "param", key: "learning rate", comparator: "LIKE", value: "%1" },
      { entity: "tag", key: "team x", comparator: "ILIKE", value: "R%" },
      { entity: "attribute", key: "status", comparator: "=", value: "FINISHED" },
    ]);
    expect(parseFilter("attributes.run_id IN ('a', 'b')", RUN_SEARCH)).toEqual([
      { entity: "attribute", key: "run_id", comparator: "IN", value: ["a", "b"] },
    ]);
    expect(parseFilter("attr.created >= 10", RUN_SEARCH)[0]).toMatchObject({ key: "start_time", value: 10 });
    expect(parseOrderBy(["metrics.`val loss` DESC", "start_time"], RUN_SEARCH)).toEqual([
      { entity: "metric", key: "val loss", ascending: false },
      { entity: "attribute", key: "start_time", ascending: true },
    ]);
  });

  it("rejects what MLflow rejects, naming the problem", () => {
    const bad: Array<[string, RegExp]> = [
      ["metrics.acc > 'x'", /numeric value/],
      ["params.lr > '1'", /comparator/],
      ["metrics.acc = 1 OR metrics.b = 2", /OR/],
      ["foo.bar = 'x'", /entity/],
      ["attributes.nope = 'x'", /attribute key/],
      ["metrics.acc >", /value/],
      ["tags.t = 'unterminated", /unterminated/],
      ["params.p IN 'x'", /\(/],
    ];
    for (const [f, msg] of bad) expect(() => parseFilter(f, RUN_SEARCH), f).toThrow(msg);
    expect(() => parseFilter("params.x = 'a'", EXPERIMENT_SEARCH)).toThrow(/entity/);
    expect(() => parseOrderBy(["metrics.a SIDEWAYS"], RUN_SEARCH)).toThrow(/ASC or DESC/);
  });
});
