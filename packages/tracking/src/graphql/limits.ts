import {
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
} from "graphql";

/** Bounds on a query's shape, checked before it runs: nesting depth and selections in all. */
export const GRAPHQL_LIMITS = { maxDepth: 10, maxSelections: 1000 } as const;

/**
 * Refuses a document whose selections (fragments expanded) nest deeper than `maxDepth` or
 * number more than `maxSelections`, so one request cannot make the server walk an unbounded
 * tree. Runs after graphql-js validation (which refuses fragment cycles).
 */
export function checkQueryLimits(doc: DocumentNode, limits = GRAPHQL_LIMITS): GraphQLError[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let selections = 0;
  let deepest = 0;
  const walk = (set: SelectionSetNode, depth: number): void => {
    deepest = Math.max(deepest, depth);
    if (deepest > limits.maxDepth || selections > limits.maxSelections) return;
    for (const s of set.selections) {
      if (s.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(s.name.value);
        if (f) walk(f.selectionSet, depth);
        continue;
      }
      if (s.kind === Kind.INLINE_FRAGMENT) {
        walk(s.selectionSet, depth);
        continue;
      }
      selections++;
      if (s.selectionSet) walk(s.selectionSet, depth + 1);
    }
  };
  for (const d of doc.definitions) if (d.kind === Kind.OPERATION_DEFINITION) walk(d.selectionSet, 1);
  const errors: GraphQLError[] = [];
  const at = doc as ASTNode;
  if (deepest > limits.maxDepth) {
    errors.push(new GraphQLError(`Query exceeds maximum depth of ${limits.maxDepth}`, { nodes: at }));
  }
  if (selections > limits.maxSelections) {
    errors.push(
      new GraphQLError(`Query exceeds maximum total selections of ${limits.maxSelections}`, { nodes: at }),
    );
  }
  return errors;
}
