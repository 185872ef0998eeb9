import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandInput,
  type GetQueryResultsCommandOutput,
  GetTableMetadataCommand,
  type GetTableMetadataCommandInput,
  type GetTableMetadataCommandOutput,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from "@aws-sdk/client-athena";
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
} from "@aws-sdk/client-s3";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/**
 * AWS itself, faked for the Athena adapter: S3 objects are files under `root`; Athena runs the
 * adapter's SQL on DuckDB, where each Glue table is a view "<db>"."<table>" over its S3
 * prefix. Every request is recorded with the SDK's own input types, so tests check shapes.
 */
export class FakeAws {
  readonly requests: Array<{ command: string; input: unknown }> = [];
  private conn?: Promise<DuckDBConnection>;
  private readonly results = new Map<
    string,
    { error?: string; columns: Array<{ name: string; type: string }>; rows: unknown[][] }
  >();
  private n = 0;
  /** Rows per GetQueryResults page (small, so tests cover NextToken). */
  pageSize = 7;

  constructor(readonly root: string) {}

  localPath(uri: string): string {
    return join(this.root, uri.replace(/^s3:\/\//, ""));
  }

  private db(): Promise<DuckDBConnection> {
    this.conn ??= DuckDBInstance.create(":memory:").then((i) => i.connect());
    return this.conn;
  }

  /** What the Features stack does for a file source: a Glue table over its prefix. */
  async createGlueTable(database: string, table: string, location: string): Promise<void> {
    // Glue accepts an empty prefix; DuckDB cannot glob one, so such a table stays unqueryable here.
    if (!existsSync(this.localPath(location))) return;
    const c = await this.db();
    await c.run(`CREATE SCHEMA IF NOT EXISTS "${database}"`);
    await c.run(
      `CREATE OR REPLACE VIEW "${database}"."${table}" AS SELECT * FROM read_parquet('${this.localPath(location)}**/*.parquet', union_by_name = true)`,
    );
  }

  readonly s3 = {
    send: async (cmd: unknown) => {
      if (cmd instanceof PutObjectCommand) {
        const input: PutObjectCommandInput = cmd.input;
        this.requests.push({ command: "PutObject", input });
        const file = join(this.root, input.Bucket as string, input.Key as string);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, input.Body as Uint8Array);
        return {};
      }
      if (cmd instanceof GetObjectCommand) {
        const input: GetObjectCommandInput = cmd.input;
        this.requests.push({ command: "GetObject", input });
        const bytes = readFileSync(join(this.root, input.Bucket as string, input.Key as string));
        return { Body: { transformToByteArray: async () => new Uint8Array(bytes) } };
      }
      throw new Error(`FakeAws S3: unexpected command ${(cmd as object).constructor.name}`);
    },
  };

  readonly athena = {
    send: async (cmd: unknown) => {
      if (cmd instanceof StartQueryExecutionCommand) return this.start(cmd.input);
      if (cmd instanceof GetQueryExecutionCommand) {
        const id = cmd.input.QueryExecutionId as string;
        this.requests.push({ command: "GetQueryExecution", input: cmd.input });
        const r = this.results.get(id);
        const out: GetQueryExecutionCommandOutput = {
          $metadata: {},
          QueryExecution: {
            QueryExecutionId: id,
            Status: r?.error ? { State: "FAILED", StateChangeReason: r.error } : { State: "SUCCEEDED" },
          },
        };
        return out;
      }
      if (cmd instanceof GetQueryResultsCommand) return this.page(cmd.input);
      if (cmd instanceof GetTableMetadataCommand) return this.tableMetadata(cmd.input);
      throw new Error(`FakeAws Athena: unexpected command ${(cmd as object).constructor.name}`);
    },
  };

  private async start(input: StartQueryExecutionCommandInput) {
    this.requests.push({ command: "StartQueryExecution", input });
    const id = `q${++this.n}`;
    const sql = input.QueryString as string;
    const c = await this.db();
    try {
      const ddl =
        /^CREATE EXTERNAL TABLE (?:IF NOT EXISTS )?`([^`]+)`\.`([^`]+)` \(.*\) STORED AS PARQUET LOCATION '([^']+)'$/s.exec(
          sql,
        );
      // Glue keeps declared columns; the DuckDB view reads them from the Parquet files.
      const alter = /^ALTER TABLE `[^`]+`\.`[^`]+` REPLACE COLUMNS \(.*\)$/s.test(sql);
      const drop = /^DROP TABLE IF EXISTS `([^`]+)`\.`([^`]+)`$/.exec(sql);
      const unload = /^UNLOAD \((.*)\) TO '([^']+)' WITH \(format = 'PARQUET'\)$/s.exec(sql);
      if (ddl) {
        await this.createGlueTable(ddl[1], ddl[2], ddl[3]);
        this.results.set(id, { columns: [], rows: [] });
      } else if (alter) {
        this.results.set(id, { columns: [], rows: [] });
      } else if (drop) {
        await c.run(`DROP VIEW IF EXISTS "${drop[1]}"."${drop[2]}"`);
        this.results.set(id, { columns: [], rows: [] });
      } else if (unload) {
        const dir = this.localPath(unload[2]);
        mkdirSync(dir, { recursive: true });
        const r = await c.run(`COPY (${unload[1]}) TO '${join(dir, "part-0.parquet")}' (FORMAT PARQUET)`);
        this.results.set(id, { columns: [], rows: new Array(r.rowsChanged).fill([]) });
      } else {
        const r = await c.runAndReadAll(sql);
        const columns = r
          .columnNames()
          .map((name, i) => ({ name, type: athenaType(String(r.columnTypes()[i])) }));
        this.results.set(id, { columns, rows: r.getRowsJS() });
      }
    } catch (e) {
      this.results.set(id, { error: (e as Error).message, columns: [], rows: [] });
    }
    return { QueryExecutionId: id };
  }

  private page(input: GetQueryResultsCommandInput): GetQueryResultsCommandOutput {
    this.requests.push({ command: "GetQueryResults", input });
    const r = this.results.get(input.QueryExecutionId as string);
    if (!r) throw new Error("unknown query");
    const start = Number(input.NextToken ?? 0);
    const end = Math.min(r.rows.length, start + Math.min(this.pageSize, input.MaxResults ?? 1000));
    const header = start === 0 ? [{ Data: r.columns.map((c) => ({ VarCharValue: c.name })) }] : [];
    return {
      $metadata: {},
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: r.columns.map((c) => ({ Name: c.name, Type: c.type })) },
        Rows: [
          ...header,
          ...r.rows
            .slice(start, end)
            .map((row) => ({ Data: row.map((v) => ({ VarCharValue: athenaText(v) })) })),
        ],
      },
      NextToken: end < r.rows.length ? String(end) : undefined,
    };
  }

  private async tableMetadata(input: GetTableMetadataCommandInput): Promise<GetTableMetadataCommandOutput> {
    this.requests.push({ command: "GetTableMetadata", input });
    const c = await this.db();
    const r = await c.runAndReadAll(`DESCRIBE "${input.DatabaseName}"."${input.TableName}"`);
    return {
      $metadata: {},
      TableMetadata: {
        Name: input.TableName,
        Columns: r
          .getRowObjectsJS()
          .map((row) => ({ Name: String(row.column_name), Type: glueType(String(row.column_type)) })),
      },
    };
  }

  async close(): Promise<void> {
    (await this.conn)?.closeSync();
  }
}

/** Athena's result type names. */
function athenaType(duck: string): string {
  const t = duck.toUpperCase();
  if (t === "BIGINT") return "bigint";
  if (t === "INTEGER") return "integer";
  if (t === "DOUBLE" || t === "FLOAT") return "double";
  if (t === "BOOLEAN") return "boolean";
  if (t.startsWith("TIMESTAMP")) return "timestamp";
  return "varchar";
}

/** Glue (Hive) column type names. */
function glueType(duck: string): string {
  const t = athenaType(duck);
  return t === "varchar" ? "string" : t === "integer" ? "int" : t;
}

/** Athena renders timestamps as "YYYY-MM-DD HH:MM:SS.mmm" and everything else as text; null has no value. */
function athenaText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.toISOString().replace("T", " ").replace("Z", "");
  return String(v);
}
