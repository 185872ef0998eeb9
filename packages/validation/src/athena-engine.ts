import { randomUUID } from "node:crypto";
import { AthenaClient, GetTableMetadataCommand } from "@aws-sdk/client-athena";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { KeelError } from "@keel/core";
import {
  type AthenaQueryOptions,
  athenaResultRows,
  type CommandSender,
  runAthenaQuery,
} from "./athena-query";
import { athenaDialect } from "./dialect";
import type { Column, OpenedDataset, Row, ValidationEngine } from "./engine";
import { parquetHiveColumns } from "./parquet-hive";

export interface AthenaValidationOptions extends AthenaQueryOptions {
  region?: string;
  athena?: CommandSender;
  s3?: CommandSender;
}

/** Table names this engine creates (and drops) for s3:// datasets; the stack's Glue grant names them. */
export const TEMP_TABLE_PREFIX = "keel_validate_";

const GLUE_DATASET = /^glue:\/\/([A-Za-z0-9_]+)\/([A-Za-z0-9_]+)$/;
const S3_PREFIX = /^s3:\/\/([^/]+)\/(.*\/)?$/;

const unreadable = (dataset: string, why: string) =>
  new KeelError("INVALID_PARAMETER_VALUE", `cannot read dataset ${dataset} with Athena: ${why}`);

/**
 * The validation engine in AWS: the suite's SQL in Athena's dialect, run by Athena over the
 * Parquet files in S3. A dataset is either a Glue table (`glue://<database>/<table>`, e.g. an
 * offline store source's table) or an s3:// prefix of Parquet files, for which a temporary
 * external table `keel_validate_<id>` is declared from the first file's footer (read with two
 * ranged GETs) and dropped when the validation ends.
 */
export class AthenaValidationEngine implements ValidationEngine {
  readonly dialect = athenaDialect;
  private readonly athena: CommandSender;
  private readonly s3: CommandSender;

  constructor(private readonly opts: AthenaValidationOptions) {
    this.athena = opts.athena ?? new AthenaClient({ region: opts.region });
    this.s3 = opts.s3 ?? new S3Client({ region: opts.region });
  }

  async open(dataset: string): Promise<OpenedDataset> {
    const glue = GLUE_DATASET.exec(dataset);
    if (glue) return this.openTable(dataset, glue[1], glue[2]);
    const s3 = S3_PREFIX.exec(dataset);
    if (!s3)
      throw unreadable(
        dataset,
        "a dataset is an s3:// prefix ending in '/' (a folder of Parquet files) or a Glue table glue://<database>/<table>",
      );
    const columns = await this.prefixColumns(dataset, s3[1], s3[2] ?? "");
    const table = `${TEMP_TABLE_PREFIX}${randomUUID().replaceAll("-", "")}`;
    const name = `\`${this.opts.database}\`.\`${table}\``;
    const ddl = columns.map((c) => `\`${c.name}\` ${c.type}`).join(", ");
    await this.run(`CREATE EXTERNAL TABLE ${name} (${ddl}) STORED AS PARQUET LOCATION '${dataset}'`);
    let released = false;
    return {
      relation: `"${this.opts.database}"."${table}"`,
      columns,
      release: async () => {
        if (released) return;
        released = true;
        await this.run(`DROP TABLE IF EXISTS ${name}`);
      },
    };
  }

  private async openTable(dataset: string, database: string, table: string): Promise<OpenedDataset> {
    let columns: Column[];
    try {
      const r = await this.athena.send(
        new GetTableMetadataCommand({
          CatalogName: "AwsDataCatalog",
          DatabaseName: database,
          TableName: table,
        }),
      );
      const t = r.TableMetadata;
      columns = [...(t?.Columns ?? []), ...(t?.PartitionKeys ?? [])].map(
        (c: { Name: string; Type?: string }) => ({
          name: c.Name,
          type: c.Type ?? "",
        }),
      );
    } catch (e) {
      throw unreadable(dataset, `no Glue table ${database}.${table} (${(e as Error).message})`);
    }
    return { relation: `"${database}"."${table}"`, columns, release: async () => {} };
  }

  /** The Hive columns of the first Parquet object under the prefix. */
  private async prefixColumns(dataset: string, bucket: string, prefix: string): Promise<Column[]> {
    let token: string | undefined;
    let first: { Key: string; Size: number } | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      first = (page.Contents ?? []).find(
        (o: { Key?: string; Size?: number }) => o.Key?.endsWith(".parquet") && (o.Size ?? 0) > 0,
      );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (!first && token);
    if (!first) throw unreadable(dataset, "no .parquet object under the prefix");
    const { Key } = first;
    return parquetHiveColumns({
      byteLength: first.Size,
      slice: async (start, end) => {
        const r = await this.s3.send(
          new GetObjectCommand({ Bucket: bucket, Key, Range: `bytes=${start}-${(end ?? first.Size) - 1}` }),
        );
        const bytes: Uint8Array = await r.Body.transformToByteArray();
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      },
    }).catch((e: Error) => {
      throw unreadable(dataset, `s3://${bucket}/${Key} is not readable Parquet (${e.message})`);
    });
  }

  private run(sql: string): Promise<string> {
    return runAthenaQuery(this.athena, sql, this.opts);
  }

  async query(sql: string): Promise<Row[]> {
    return athenaResultRows(this.athena, await this.run(sql));
  }

  async close(): Promise<void> {}
}
