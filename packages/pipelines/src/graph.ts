import { conditionSteps } from "./condition";
import type { PipelineDefinition, Step } from "./definition";
import { badDefinition } from "./errors";

export interface PipelineGraph {
  /** Steps by name. */
  steps: Map<string, Step>;
  /** Direct dependencies: declared, read by a gate condition, the list a map runs over, the gate choosing it. */
  deps: Map<string, string[]>;
  /** Steps grouped by depth (every dependency sits in an earlier level); names sorted within a level. */
  levels: string[][];
  /** For each step a gate chooses: the gate and whether the step needs its condition true or false. */
  gatedBy: Map<string, Array<{ gate: string; when: boolean }>>;
  /** Steps that may end up skipped (chosen by a gate, continue-on-failure, or downstream of such a step). */
  skippable: Set<string>;
}

/**
 * Builds and checks the step graph. Errors name what is wrong: every duplicate name, every
 * unknown dependency (and who declared it), and one cycle as "a -> b -> a".
 */
export function buildGraph(def: PipelineDefinition): PipelineGraph {
  const where = `pipeline "${def.name}"`;
  const steps = new Map<string, Step>();
  const dupes = new Set<string>();
  for (const s of def.steps) {
    if (steps.has(s.name)) dupes.add(s.name);
    steps.set(s.name, s);
  }
  if (dupes.size) throw badDefinition(`${where}: duplicate step names: ${[...dupes].sort().join(", ")}`);

  const gatedBy = new Map<string, Array<{ gate: string; when: boolean }>>();
  const deps = new Map<string, Set<string>>();
  for (const s of def.steps) deps.set(s.name, new Set(s.dependsOn));
  const unknown: string[] = [];
  for (const s of def.steps) {
    const own = deps.get(s.name)!;
    if (s.kind === "map") own.add(s.over.split(".")[0]);
    if (s.kind === "gate") {
      for (const r of conditionSteps(s.condition)) own.add(r);
      for (const branch of ["ifTrue", "ifFalse"] as const) {
        for (const target of s[branch]) {
          const t = deps.get(target);
          if (!t) {
            unknown.push(`gate "${s.name}" ${branch} -> "${target}"`);
            continue;
          }
          t.add(s.name);
          const list = gatedBy.get(target) ?? [];
          if (list.some((g) => g.gate === s.name))
            throw badDefinition(`${where}: step "${target}" is in both branches of gate "${s.name}"`);
          list.push({ gate: s.name, when: branch === "ifTrue" });
          gatedBy.set(target, list);
        }
      }
    }
  }
  for (const [name, ds] of deps) {
    if (ds.has(name)) throw badDefinition(`${where}: step "${name}" depends on itself`);
    for (const d of ds) if (!steps.has(d)) unknown.push(`"${name}" -> "${d}"`);
  }
  if (unknown.length) throw badDefinition(`${where}: unknown dependencies: ${unknown.join(", ")}`);

  const cycle = findCycle(deps);
  if (cycle) throw badDefinition(`${where}: dependency cycle: ${cycle.join(" -> ")}`);

  const level = new Map<string, number>();
  const depth = (n: string): number => {
    const known = level.get(n);
    if (known !== undefined) return known;
    let d = 0;
    for (const p of deps.get(n)!) d = Math.max(d, depth(p) + 1);
    level.set(n, d);
    return d;
  };
  const names = [...steps.keys()].sort();
  for (const n of names) depth(n);
  const levels: string[][] = [];
  for (const n of names) {
    const d = level.get(n)!;
    levels[d] = [...(levels[d] ?? []), n];
  }

  const skippable = new Set<string>();
  for (const lvl of levels) {
    for (const n of lvl) {
      const s = steps.get(n)!;
      const mayFail = s.kind !== "gate" && s.onFailure === "continue";
      if (gatedBy.has(n) || mayFail || [...deps.get(n)!].some((d) => skippable.has(d))) skippable.add(n);
    }
  }
  const sortedDeps = new Map([...deps].map(([k, v]) => [k, [...v].sort()]));
  return { steps, deps: sortedDeps, levels, gatedBy, skippable };
}

/** A cycle as a closed path of names, or undefined. Iterates names in sorted order, so the report is stable. */
function findCycle(deps: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, "visiting");
    stack.push(n);
    for (const d of [...(deps.get(n) ?? [])].sort()) {
      const s = state.get(d);
      if (s === "visiting") return [...stack.slice(stack.indexOf(d)), d];
      if (s === undefined) {
        const found = visit(d);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of [...deps.keys()].sort()) {
    if (!state.has(n)) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return undefined;
}
