import { randomUUID } from "node:crypto";
import {
  AthenaClient,
  type ColumnInfo,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  GetTableMetadataCommand,
  StartQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from "@aws-sdk/client-athena";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AWS_CALL_TIMEOUTS, AWS_TRANSFER_TIMEOUTS } from "@keel/core";
import { parquetMetadata, parquetSchema } from "hyparquet";
import type { FileSource } from "../definitions";
import { FeaturesError, invalidFeatures } from "../errors";
import { inferColumns, inferSqlColumns, rowsToParquet } from "./parquet-rows";
import { buildLatestSql, buildPitSql, q } from "./pit-sql";
import {
  type AppendColumn,
  type EntitySource,
  type JoinOutput,
  type OfflineStore,
  type Row,
  rechunk,
  type SqlColumn,
} from "./port";

/** The slice of an AWS SDK v3 client Keel calls: `send` with a command object. */
export interface CommandSender {
  // biome-ignore lint/suspicious/noExplicitAny: SDK clients overload `send` per command; the adapter types each call itself.
  send(command: any): Promise<any>;
}

export interface AthenaOfflineOptions {
  region?: string;
  /** Glue database holding one external Parquet table per file source, named after the source. */
  database: string;
  workgroup: string;
  /** s3:// prefix (ending in "/") for query results and staged entity rows. */
  stagingUri: string;
  athena?: CommandSender;
  s3?: CommandSender;
  pollMs?: number;
}

const CATALOG = "AwsDataCatalog";
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

function splitS3(uri: string): { Bucket: string; Key: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw invalidFeatures(`'${uri}' is not an s3:// URI`);
  return { Bucket: m[1], Key: m[2] };
}

/** Hive DDL type of an entity column (Athena CREATE EXTERNAL TABLE). */
function hiveType(sqlType: string): string {
  const t = sqlType.toUpperCase();
  if (t === "INT64" || t === "BIGINT") return "bigint";
  if (t === "INT32" || t === "INTEGER") return "int";
  if (t === "DOUBLE") return "double";
  if (t === "FLOAT") return "float";
  if (t === "BOOLEAN") return "boolean";
  if (t.startsWith("TIMESTAMP")) return "timestamp";
  return "string";
}

/**
 * OfflineStore on Amazon Athena over the Parquet files in S3, running the same portable SQL
 * as the DuckDB adapter. Sources are Glue tables named after them (the Features stack
 * creates them); entity rows are staged as Parquet under `stagingUri` and exposed as a
 * temporary external table that is dropped after the join.
 */
export class AthenaOfflineStore implements OfflineStore {
  private readonly athena: CommandSender;
  private readonly s3: CommandSender;

  constructor(private readonly opts: AthenaOfflineOptions) {
    if (!opts.stagingUri.startsWith("s3://") || !opts.stagingUri.endsWith("/"))
      throw invalidFeatures("Athena stagingUri must be an s3:// prefix ending in '/'");
    this.athena = opts.athena ?? new AthenaClient({ region: opts.region, ...AWS_CALL_TIMEOUTS });
    this.s3 = opts.s3 ?? new S3Client({ region: opts.region, ...AWS_TRANSFER_TIMEOUTS });
  }

  private table(name: string): string {
    return `${q(this.opts.database)}.${q(name)}`;
  }

  /** Starts a query and waits for it; returns its execution id or throws with Athena's reason. */
  async execute(sql: string): Promise<string> {
    const input: StartQueryExecutionCommandInput = {
      QueryString: sql,
      WorkGroup: this.opts.workgroup,
      QueryExecutionContext: { Catalog: CATALOG, Database: this.opts.database },
      ResultConfiguration: { OutputLocation: `${this.opts.stagingUri}results/` },
      ClientRequestToken: randomUUID(),
    };
    const started = await this.athena.send(new StartQueryExecutionCommand(input));
    const id = started.QueryExecutionId as string;
    for (;;) {
      const r = await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const state = r.QueryExecution?.Status?.State as string | undefined;
      if (state && TERMINAL.has(state)) {
        if (state === "SUCCEEDED") return id;
        throw new FeaturesError(
          "INTERNAL_ERROR",
          `Athena query ${id} ${state}: ${r.QueryExecution?.Status?.StateChangeReason ?? ""}`,
        );
      }
      await new Promise((res) => setTimeout(res, this.opts.pollMs ?? 250));
    }
  }

  /** Result pages of a finished query as typed rows (the header row of page one dropped). */
  async *resultPages(id: string): AsyncIterable<Row[]> {
    let token: string | undefined;
    let first = true;
    do {
      const page: GetQueryResultsCommandOutput = await this.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
      );
      const cols = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      const rows = (page.ResultSet?.Rows ?? []).slice(first ? 1 : 0);
      first = false;
      yield rows.map((r) =>
        Object.fromEntries(cols.map((c, i) => [c.Name as string, fromAthena(c, r.Data?.[i]?.VarCharValue)])),
      );
      token = page.NextToken;
    } while (token);
  }

  async describeSource(source: FileSource): Promise<SqlColumn[]> {
    try {
      const r = await this.athena.send(
        new GetTableMetadataCommand({
          CatalogName: CATALOG,
          DatabaseName: this.opts.database,
          TableName: source.name,
        }),
      );
      const t = r.TableMetadata;
      return [...(t?.Columns ?? []), ...(t?.PartitionKeys ?? [])].map(
        (c: { Name: string; Type?: string }) => ({
          name: c.Name,
          type: c.Type ?? "",
        }),
      );
    } catch (e) {
      throw invalidFeatures(
        `source '${source.name}': no Glue table ${this.opts.database}.${source.name}: ${(e as Error).message}`,
        undefined,
        e,
      );
    }
  }

  async registerSource(source: FileSource, columns: SqlColumn[]): Promise<void> {
    // A Glue table spans a whole prefix, so a single-file source would read its neighbours too.
    if (!source.path.startsWith("s3://") || !source.path.endsWith("/"))
      throw invalidFeatures(
        `source '${source.name}': with Athena a source must be an s3:// prefix ending in '/'`,
      );
    const location = source.path;
    const cols = columns.map((c) => `\`${c.name}\` ${hiveType(c.type)}`).join(", ");
    const table = `\`${this.opts.database}\`.\`${source.name}\``;
    // Create, then replace the columns: an existing table changes in place, never disappears.
    await this.execute(
      `CREATE EXTERNAL TABLE IF NOT EXISTS ${table} (${cols}) STORED AS PARQUET LOCATION '${location}'`,
    );
    await this.execute(`ALTER TABLE ${table} REPLACE COLUMNS (${cols})`);
  }

  async describeEntities(entities: EntitySource): Promise<SqlColumn[]> {
    return (await this.entityParquet(entities)).columns;
  }

  /** Entity rows as Parquet bytes plus their columns; a path must be a Parquet object in S3. */
  private async entityParquet(
    entities: EntitySource,
  ): Promise<{ bytes: Uint8Array; columns: SqlColumn[]; rowCount: number }> {
    if ("rows" in entities) {
      return {
        bytes: new Uint8Array(rowsToParquet(inferColumns(entities.rows), entities.rows)),
        columns: inferSqlColumns(entities.rows),
        rowCount: entities.rows.length,
      };
    }
    const obj = await this.s3.send(new GetObjectCommand(splitS3(entities.path)));
    const bytes: Uint8Array = await obj.Body.transformToByteArray();
    const meta = parquetMetadata(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    const columns = parquetSchema(meta).children.map((c) => {
      const el = c.element;
      const ts = el.converted_type?.startsWith("TIMESTAMP") || el.logical_type?.type === "TIMESTAMP";
      const type = ts ? "TIMESTAMP" : el.converted_type === "UTF8" ? "VARCHAR" : (el.type ?? "VARCHAR");
      return { name: el.name, type: type === "BYTE_ARRAY" ? "VARCHAR" : type === "INT64" ? "BIGINT" : type };
    });
    return { bytes, columns, rowCount: Number(meta.num_rows) };
  }

  async pointInTimeJoin(
    entities: EntitySource,
    sources: FileSource[],
    spec: Parameters<OfflineStore["pointInTimeJoin"]>[2],
    output: JoinOutput,
  ): Promise<{ rows?: Row[]; rowCount: number }> {
    const { bytes, columns, rowCount } = await this.entityParquet(entities);
    const id = randomUUID().replaceAll("-", "");
    const tableName = `keel_entities_${id}`;
    const location = `${this.opts.stagingUri}entities/${id}/`;
    await this.s3.send(new PutObjectCommand({ ...splitS3(`${location}entities.parquet`), Body: bytes }));
    const ddlCols = columns.map((c) => `\`${c.name}\` ${hiveType(c.type)}`).join(", ");
    await this.execute(
      `CREATE EXTERNAL TABLE \`${this.opts.database}\`.\`${tableName}\` (${ddlCols}) STORED AS PARQUET LOCATION '${location}'`,
    );
    try {
      const sql = buildPitSql({
        entities: this.table(tableName),
        entityColumns: spec.entityColumns,
        views: spec.views.map((v, i) => ({ ...v, relation: this.table(sources[i].name) })),
      });
      if (output.kind === "parquet") {
        if (!output.path.startsWith("s3://") || !output.path.endsWith("/"))
          throw invalidFeatures("with Athena the output must be an s3:// prefix ending in '/'");
        await this.execute(`UNLOAD (${sql}) TO '${output.path}' WITH (format = 'PARQUET')`);
        // A point-in-time join returns exactly one row per entity row.
        return { rowCount };
      }
      const rows: Row[] = [];
      for await (const page of this.resultPages(await this.execute(sql))) rows.push(...page);
      return { rows, rowCount: rows.length };
    } finally {
      await this.execute(`DROP TABLE IF EXISTS \`${this.opts.database}\`.\`${tableName}\``);
    }
  }

  async *latestRows(
    source: FileSource,
    spec: Parameters<OfflineStore["latestRows"]>[1],
    chunkSize: number,
  ): AsyncIterable<Row[]> {
    const id = await this.execute(buildLatestSql({ ...spec, relation: this.table(source.name) }));
    yield* rechunk(this.resultPages(id), chunkSize);
  }

  async append(source: FileSource, columns: AppendColumn[], rows: Row[]): Promise<string> {
    if (!source.path.startsWith("s3://") || !source.path.endsWith("/"))
      throw invalidFeatures(`source '${source.name}' is not an s3:// prefix: cannot append`);
    const uri = `${source.path}push-${Date.now()}-${randomUUID()}.parquet`;
    // One PutObject: S3 makes the object visible whole or not at all.
    await this.s3.send(
      new PutObjectCommand({ ...splitS3(uri), Body: new Uint8Array(rowsToParquet(columns, rows)) }),
    );
    return uri;
  }

  async close(): Promise<void> {}
}

/** Athena returns every value as text; this restores the column's type. */
function fromAthena(col: ColumnInfo, v: string | undefined): unknown {
  if (v === undefined) return null;
  const t = (col.Type ?? "varchar").toLowerCase();
  if (t === "bigint" || t === "integer" || t === "smallint" || t === "tinyint") return Number(v);
  if (t === "double" || t === "float" || t === "real" || t.startsWith("decimal")) return Number(v);
  if (t === "boolean") return v === "true";
  if (t.startsWith("timestamp")) return new Date(`${v.replace(" ", "T").replace(/ UTC$/, "")}Z`);
  return v;
}
