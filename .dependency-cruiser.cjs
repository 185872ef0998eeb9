/**
 * Import boundaries, checked by `npm run lint` (dependency-cruiser):
 *  - domain packages (every package but app, local and cli) never import the composition
 *    root (`@keel/app`), the local runner, the CLI, the Lambda entry points or the examples;
 *  - no cycles (a cycle between packages is a cycle between their modules);
 *  - every package imports only what its own package.json declares: npm packages
 *    (`no-non-package-json`, `not-to-unresolvable`) and `@keel/*` workspaces (one generated
 *    rule per package, from its manifest).
 */
const { readdirSync, readFileSync, existsSync } = require("node:fs");
const { join } = require("node:path");

const COMPOSITION = ["app", "local", "cli"];
const packages = readdirSync(join(__dirname, "packages")).filter((p) =>
  existsSync(join(__dirname, "packages", p, "package.json")),
);
const manifestOf = (p) => JSON.parse(readFileSync(join(__dirname, "packages", p, "package.json"), "utf8"));
const sourceOf = (p) => `^packages/${p}/(src|bin)/(?!.*\\.test\\.ts$)`;

/** One rule per package: a workspace it imports must be in its dependencies. */
const declaredWorkspaces = packages.map((p) => {
  const m = manifestOf(p);
  const declared = Object.keys({ ...m.dependencies, ...m.peerDependencies })
    .filter((d) => d.startsWith("@keel/"))
    .map((d) => d.slice("@keel/".length));
  return {
    name: `workspace-not-declared:${p}`,
    comment: `@keel/${p} imports a @keel/* package that packages/${p}/package.json does not declare`,
    severity: "error",
    from: { path: sourceOf(p) },
    to: { path: `^packages/(?!(${[p, ...declared].join("|")})/)[^/]+/` },
  };
});

module.exports = {
  forbidden: [
    {
      name: "domain-imports-composition",
      comment:
        "domain packages never import the composition root, the local runner, the CLI, functions/ or examples/",
      severity: "error",
      from: { path: `^packages/(?!(${COMPOSITION.join("|")})/)[^/]+/` },
      to: { path: `^(packages/(${COMPOSITION.join("|")})/|functions/|examples/)` },
    },
    {
      name: "product-imports-examples",
      comment: "the product (packages/, functions/) never imports the examples: projects are inputs",
      severity: "error",
      from: { path: "^(packages|functions)/" },
      to: { path: "^examples/" },
    },
    {
      name: "no-circular",
      comment: "no import cycles (between packages or inside one)",
      severity: "error",
      from: { path: "^(packages|functions|stacks)/" },
      to: { circular: true },
    },
    {
      name: "no-non-package-json",
      comment: "an npm package a workspace imports must be declared in that workspace's package.json",
      severity: "error",
      from: { path: "^packages/[^/]+/(src|bin)/(?!.*\\.test\\.ts$)" },
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "not-to-unresolvable",
      comment: "every import resolves",
      severity: "error",
      from: { path: "^(packages|functions|stacks)/" },
      to: { couldNotResolve: true, pathNot: "^@keel-project/pipelines$" },
    },
    ...declaredWorkspaces,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // packages/cli/dist: the CLI's generated bundle (packages/cli/bin/bundle.mjs); packages/console/dist: the Vite build.
    exclude: { path: "(^|/)(node_modules|\\.sst|\\.keel)/|^packages/(cli|console)/dist/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    skipAnalysisNotInRules: true,
  },
};
