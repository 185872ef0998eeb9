import {
  type BuiltinStepKind,
  BuiltinStepRegistry,
  compilePipeline,
  definePipeline,
  type StepInput,
} from "@keel/pipelines";
import validator from "asl-validator";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { training } from "../../examples/pipelines/training";

const noop = () => ({ ok: true });
const lambda = (name: string, dependsOn: string[] = []): StepInput => ({
  name,
  kind: "lambda",
  dependsOn,
  handler: noop,
});
const pipeline = (steps: StepInput[]) => definePipeline({ name: "p", params: z.object({}), steps });

/** Random DAGs: step i may depend only on steps before it, so the graph is acyclic by construction. */
const dagArb = fc
  .integer({ min: 1, max: 25 })
  .chain((n) =>
    fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.subarray(
          Array.from({ length: i }, (_, j) => j),
          { maxLength: Math.min(3, i) },
        ),
      ),
    ),
  )
  .map((deps) =>
    deps.map((ds, i) =>
      lambda(
        `s${i}`,
        ds.map((d) => `s${d}`),
      ),
    ),
  );

describe("compilePipeline", () => {
  it("compiles the example (map, container, gate, hook) to ASL that asl-validator accepts", () => {
    const { definition, states } = compilePipeline(training);
    const check = validator(structuredClone(definition), { checkPaths: true, checkArn: false });
    expect(check.errorsText()).toBe("");
    expect(definition.StartAt).toBe("keel.validate");
    const all = JSON.stringify(definition);
    expect(all).toContain('"Resource":"arn:aws:states:::sagemaker:createTrainingJob.sync"');
    expect(definition.States.quality).toMatchObject({
      Type: "Choice",
      Choices: [{ Variable: "$.steps.evaluate.passed", BooleanEquals: true, Next: "quality.true" }],
      Default: "quality.false",
    });
    expect(definition.States.tune).toMatchObject({
      Type: "Map",
      ItemsPath: "$.steps.plan.trials",
      MaxConcurrency: 2,
    });
    expect(definition.States.train).toMatchObject({ TimeoutSeconds: 600 });
    expect(states["tune.item"]).toEqual({ role: "item", step: "tune" });
  });

  it("is deterministic for any DAG, and every dependency sits in an earlier level", () => {
    fc.assert(
      fc.property(dagArb, (steps) => {
        const a = compilePipeline(pipeline(steps), { validate: false });
        const b = compilePipeline(pipeline([...steps].reverse()), { validate: false });
        expect(JSON.stringify(a.definition)).toBe(JSON.stringify(b.definition));
        const level = new Map(a.levels.flatMap((names, i) => names.map((n) => [n, i] as const)));
        for (const [name, deps] of Object.entries(a.deps))
          for (const d of deps) expect(level.get(d)!).toBeLessThan(level.get(name)!);
        for (const t of Object.values(a.definition.States))
          if (t.Type === "Task") expect(t.TimeoutSeconds).toBeGreaterThan(0);
      }),
      { numRuns: 60 },
    );
  });

  it("gives asl-validator-valid ASL for any DAG (fewer runs: the validator rebuilds its schemas per call)", () => {
    fc.assert(
      fc.property(dagArb, (steps) => {
        const { definition } = compilePipeline(pipeline(steps), { validate: false });
        expect(
          validator(structuredClone(definition), { checkPaths: true, checkArn: false }).errorsText(),
        ).toBe("");
      }),
      { numRuns: 8 },
    );
  });

  it("names the cycle", () => {
    const def = pipeline([lambda("a", ["c"]), lambda("b", ["a"]), lambda("c", ["b"]), lambda("d")]);
    expect(() => compilePipeline(def)).toThrow('pipeline "p": dependency cycle: a -> c -> b -> a');
  });

  it("names unknown dependencies and who declared them", () => {
    const def = pipeline([lambda("a", ["nope"]), lambda("b", ["a", "ghost"])]);
    expect(() => compilePipeline(def)).toThrow('unknown dependencies: "a" -> "nope", "b" -> "ghost"');
  });

  it("names duplicate steps", () => {
    const def = pipeline([lambda("a"), lambda("b"), lambda("a"), lambda("b")]);
    expect(() => compilePipeline(def)).toThrow("duplicate step names: a, b");
  });

  it("rejects bad definitions with the field at fault", () => {
    expect(() => pipeline([{ name: "bad-name", kind: "lambda", handler: noop }])).toThrow(
      /step "bad-name".*name/,
    );
    expect(() =>
      pipeline([{ name: "m", kind: "map", over: "nodot", run: { kind: "lambda", handler: noop } }]),
    ).toThrow(/over/);
    expect(() =>
      pipeline([{ name: "g", kind: "gate", condition: "a.x >= ", ifTrue: [] }, lambda("a")]),
    ).not.toThrow();
    expect(() =>
      compilePipeline(pipeline([{ name: "g", kind: "gate", condition: "a.x >= ", ifTrue: [] }, lambda("a")])),
    ).toThrow(/condition "a.x >= "/);
  });

  it("uses a built-in step kind's own ASL task, and validates its config at compile time", () => {
    const deploy: BuiltinStepKind<{ endpoint: string }> = {
      name: "deploy",
      description: "Creates a SageMaker endpoint config",
      input: z.object({ endpoint: z.string().min(1) }),
      run: async (input) => ({ deployed: input.endpoint }),
      asl: (input) => ({
        Resource: "arn:aws:states:::sagemaker:createEndpoint",
        Parameters: { EndpointName: input.endpoint, "EndpointConfigName.$": "$.steps.a.config" },
        policy: [{ actions: ["sagemaker:CreateEndpoint"], resources: ["*"] }],
      }),
    };
    const builtins = new BuiltinStepRegistry([deploy]);
    const ok = pipeline([
      lambda("a"),
      { name: "d", kind: "builtin", uses: "deploy", with: { endpoint: "fraud" }, dependsOn: ["a"] },
    ]);
    expect(compilePipeline(ok, { builtins }).definition.States.d).toMatchObject({
      Resource: "arn:aws:states:::sagemaker:createEndpoint",
      Parameters: { EndpointName: "fraud" },
    });
    const bad = pipeline([{ name: "d", kind: "builtin", uses: "deploy", with: { endpoint: "" } }]);
    expect(() => compilePipeline(bad, { builtins })).toThrow(
      /step "d": invalid config for built-in "deploy": endpoint/,
    );
    const unknown = pipeline([{ name: "d", kind: "builtin", uses: "promote" }]);
    expect(() => compilePipeline(unknown, { builtins })).toThrow(
      'unknown built-in step kind "promote" (known: deploy)',
    );
    expect(() => builtins.register(deploy)).toThrow(/already registered/);
  });

  it("runs independent steps of one level in a Parallel state and merges their outputs", () => {
    const { definition } = compilePipeline(pipeline([lambda("a"), lambda("b"), lambda("c", ["a", "b"])]));
    expect(definition.States["keel.level0"]).toMatchObject({
      Type: "Parallel",
      ResultSelector: { "steps.$": "States.JsonMerge($[0].steps, $[1].steps, false)" },
      Next: "c.check",
    });
  });
});
