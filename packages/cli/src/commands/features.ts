import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type ApplyResult,
  allDefinitions,
  DuckDbOfflineStore,
  FeatureCatalog,
  type FeatureRepo,
  type FeaturesService,
  getHistoricalFeatures,
  loadRepoDir,
  type MaterializeViewResult,
} from "@keel/features";
import type { Cli, Connection } from "../client";
import { type Command, type CommandSpec, command, UsageError } from "../command";
import { CliError } from "../failure";
import { createProgress } from "../progress";

/** Where the registered definitions live: a running platform (--url) or a data dir opened in process. */
interface FeaturesBackend {
  apply(definitions: unknown, dryRun: boolean): Promise<ApplyResult>;
  definitions(): Promise<{ version: number } & FeatureRepo>;
  materialize(
    req: { incremental: boolean; views?: string[] },
    onProgress: (line: string) => void,
  ): Promise<MaterializeViewResult[]>;
  close(): Promise<void>;
}

const FLAGS: CommandSpec["flags"] = ["url", "data-dir"];

/** Over HTTP to a server, or straight to the service when the data dir is open in this process. */
function backend(conn: Connection): FeaturesBackend {
  const service: FeaturesService | undefined = conn.local?.platform.services.features;
  if (service)
    return {
      apply: (definitions, dryRun) => service.apply(definitions, { dryRun }),
      async definitions() {
        const snap = await service.definitions();
        return { version: snap.version, ...snap.catalog.repo };
      },
      materialize: (req, onProgress) =>
        service.materialize({
          ...req,
          onProgress: (p) =>
            onProgress(`${p.view}: ${p.rowsRead} rows read, ${p.written} written, ${p.skipped} skipped`),
        }),
      close: () => conn.close(),
    };
  return {
    apply: (definitions, dryRun) => conn.post("/api/v1/features/apply", { definitions, dry_run: dryRun }),
    definitions: () => conn.get("/api/v1/features/definitions"),
    async materialize(req) {
      return (await conn.post<{ views: MaterializeViewResult[] }>("/api/v1/features/materialize", req)).views;
    },
    close: () => conn.close(),
  };
}

async function withBackend<T>(cli: Cli, fn: (b: FeaturesBackend) => Promise<T>) {
  const b = backend(await cli.serverOrDataDir());
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

const list = (s: string | undefined) =>
  (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

export const featuresApplyCommand = command({
  name: "features apply",
  summary: "validate the feature definitions in a directory and register them (versioned, with a diff)",
  flags: FLAGS,
  usage: "keel features apply [dir=.] [--dry-run] [--url http://localhost:5000 | --data-dir ./.keel]",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { "dry-run": { type: "boolean", default: false } },
    });
    if (positionals.length > 1) throw new UsageError("give at most one directory");
    const repo = await loadRepoDir(positionals[0] ?? ".");
    new FeatureCatalog(repo); // validate before touching the platform
    const res = await withBackend(cli, (b) => b.apply(repo, values["dry-run"] ?? false));
    for (const d of res.diff) {
      const sign = d.change === "added" ? "+" : d.change === "removed" ? "-" : "~";
      console.log(`  ${sign} ${d.kind} ${d.name}${d.fields ? ` (${d.fields.join(", ")})` : ""}`);
    }
    if (values["dry-run"])
      console.log(`dry run: ${res.diff.length} change(s) against version ${res.version}`);
    else if (!res.changed) console.log(`no changes; registry at version ${res.version}`);
    else console.log(`registered version ${res.version} (${res.diff.length} change(s))`);
    return 0;
  },
});

export const featuresListCommand = command({
  name: "features list",
  summary: "list registered entities, sources, feature views and feature services",
  flags: FLAGS,
  usage: "keel features list [--url http://localhost:5000 | --data-dir ./.keel]",
  async run(argv, cli) {
    parseArgs({ args: argv, options: {} });
    const defs = await withBackend(cli, (b) => b.definitions());
    console.log(`registry version ${defs.version}`);
    const rows: string[][] = [
      ...defs.entities.map((e) => ["entity", e.name, `join key ${e.joinKey} (${e.valueType})`]),
      ...defs.sources.map((s) => [s.kind, s.name, s.kind === "file_source" ? s.path : `-> ${s.batchSource}`]),
      ...defs.featureViews.map((v) => [
        "feature_view",
        v.name,
        `${v.schema.length} features, ttl ${v.ttlSeconds}s, ${v.online ? "online" : "offline only"}${v.owner ? `, owner ${v.owner}` : ""}`,
      ]),
      ...defs.featureServices.map((s) => ["feature_service", s.name, s.features.join(", ")]),
    ];
    for (const r of rows) console.log(`  ${r[0].padEnd(16)} ${r[1].padEnd(28)} ${r[2]}`);
    return 0;
  },
});

export const featuresDescribeCommand = command({
  name: "features describe",
  summary: "show a registered definition (feature view, entity, source or service) as JSON",
  flags: FLAGS,
  usage: "keel features describe <name> [--url http://localhost:5000 | --data-dir ./.keel]",
  async run(argv, cli) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError("give one name");
    const defs = await withBackend(cli, (b) => b.definitions());
    const found = allDefinitions(defs).filter((d) => d.name === positionals[0]);
    if (found.length === 0)
      throw new CliError(
        `no feature definition named '${positionals[0]}'`,
        "List them with `keel features list`",
      );
    console.log(JSON.stringify(found.length === 1 ? found[0] : found, null, 2));
    return 0;
  },
});

export const featuresHistoricalCommand = command({
  name: "features historical",
  summary: "build a point-in-time correct training set (Parquet) for an entity file",
  flags: FLAGS,
  usage:
    "keel features historical --entities <file.parquet> (--features view:feat,... | --feature-service <name>) --out <file.parquet> [--full-feature-names] [--repo <dir> | --url <url> | --data-dir ./.keel] [--offline-root <dir>]",
  async run(argv, cli) {
    const { values } = parseArgs({
      args: argv,
      options: {
        entities: { type: "string" },
        features: { type: "string" },
        "feature-service": { type: "string" },
        out: { type: "string" },
        "full-feature-names": { type: "boolean", default: false },
        repo: { type: "string" },
        "offline-root": { type: "string" },
      },
    });
    if (!values.entities || !values.out) throw new UsageError("--entities and --out are required");
    if (!values.features && !values["feature-service"])
      throw new UsageError("give --features or --feature-service");
    if (values.repo && (cli.options.url || cli.options.dataDir))
      throw new UsageError("give --repo, --url or --data-dir, not several");
    const progress = createProgress(process.stderr);
    const catalog = await progress.task("loading feature definitions", async () =>
      values.repo
        ? new FeatureCatalog(await loadRepoDir(values.repo))
        : new FeatureCatalog(
            await withBackend(cli, async (b) => {
              const { version: _version, ...repo } = await b.definitions();
              return repo;
            }),
          ),
    );
    // s3:// sources map under the offline root, as in `keel dev` (<data dir>/offline).
    const offline = new DuckDbOfflineStore({
      root: values["offline-root"] ?? resolve(cli.dataDir, "offline"),
    });
    try {
      const res = await progress.task(
        "joining point in time",
        () =>
          getHistoricalFeatures(offline, catalog, {
            entities: { path: resolve(values.entities as string) },
            features: list(values.features),
            featureService: values["feature-service"],
            fullFeatureNames: values["full-feature-names"],
            outPath: resolve(values.out as string),
          }),
        (r) => `${r.rowCount} rows`,
      );
      console.log(`wrote ${res.rowCount} rows x ${res.columns.length} columns to ${values.out}`);
      console.log(`  columns: ${res.columns.join(", ")}`);
      return 0;
    } finally {
      await offline.close();
    }
  },
});

export const featuresMaterializeCommand = command({
  name: "features materialize",
  summary: "load the latest feature values from the offline store into the online store",
  flags: FLAGS,
  usage:
    "keel features materialize [--incremental] [--views a,b] [--url http://localhost:5000 | --data-dir ./.keel]",
  async run(argv, cli) {
    const { values } = parseArgs({
      args: argv,
      options: {
        incremental: { type: "boolean", default: false },
        views: { type: "string" },
      },
    });
    const views = list(values.views);
    const results = await withBackend(cli, (b) =>
      createProgress(process.stderr).task(
        `materializing ${values.incremental ? "incrementally" : "in full"}`,
        (update) =>
          b.materialize(
            { incremental: values.incremental ?? false, views: views.length ? views : undefined },
            update,
          ),
        (r) => `${r.reduce((n, v) => n + v.written, 0)} values written`,
      ),
    );
    for (const r of results) {
      const from = r.startMs === null ? "beginning" : new Date(r.startMs).toISOString();
      console.log(
        `  ${r.view}: ${r.rowsRead} entities read, ${r.written} written, ${r.skipped} skipped (${from} .. ${new Date(r.endMs).toISOString()})`,
      );
    }
    return 0;
  },
});

export const featuresCommands: Command[] = [
  featuresApplyCommand,
  featuresListCommand,
  featuresDescribeCommand,
  featuresHistoricalCommand,
  featuresMaterializeCommand,
];
