import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { StartQueryExecutionCommand, type StartQueryExecutionCommandInput } from "@aws-sdk/client-athena";
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
} from "@aws-sdk/client-s3";
import { FakeAws } from "../features/helpers/fake-aws";

/**
 * Athena and S3 faked for the validation engine, on the features tests' FakeAws (Athena's SQL
 * runs on DuckDB over files under `root`). Two Trino spellings DuckDB lacks are mapped before
 * DuckDB runs them, and nothing else: `to_unixtime(x)` (seconds, as DuckDB's `epoch(x)`) and
 * `TABLESAMPLE BERNOULLI (p)` (a percentage, DuckDB writes `p%`). S3 adds what the engine
 * reads a Parquet footer with: ListObjectsV2 and ranged GetObject. Every request is recorded.
 */
export class ValidationFakeAws extends FakeAws {
  /** The QueryString of every StartQueryExecution, as the engine sent it (before the mapping). */
  readonly sql: string[] = [];

  readonly athenaShim = {
    send: async (cmd: unknown) => {
      if (cmd instanceof StartQueryExecutionCommand) {
        const input: StartQueryExecutionCommandInput = cmd.input;
        this.sql.push(input.QueryString as string);
        const mapped = (input.QueryString as string)
          .replace(/to_unixtime\(/g, "epoch(")
          .replace(/TABLESAMPLE BERNOULLI \(([0-9.e-]+)\)/g, "TABLESAMPLE BERNOULLI ($1%)");
        return this.athena.send(new StartQueryExecutionCommand({ ...input, QueryString: mapped }));
      }
      return this.athena.send(cmd);
    },
  };

  readonly s3Reads = {
    send: async (cmd: unknown) => {
      if (cmd instanceof ListObjectsV2Command) {
        const input: ListObjectsV2CommandInput = cmd.input;
        this.requests.push({ command: "ListObjectsV2", input });
        const dir = join(this.root, input.Bucket as string);
        const keys = walk(dir)
          .map((f) => relative(dir, f))
          .filter((k) => k.startsWith(input.Prefix ?? ""))
          .sort();
        return {
          Contents: keys.map((Key) => ({ Key, Size: statSync(join(dir, Key)).size })),
          IsTruncated: false,
        };
      }
      if (cmd instanceof GetObjectCommand) {
        const input: GetObjectCommandInput = cmd.input;
        this.requests.push({ command: "GetObject", input });
        const bytes = readFileSync(join(this.root, input.Bucket as string, input.Key as string));
        const m = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? "");
        const part = m ? bytes.subarray(Number(m[1]), Number(m[2]) + 1) : bytes;
        return { Body: { transformToByteArray: async () => new Uint8Array(part) } };
      }
      throw new Error(`ValidationFakeAws S3: unexpected command ${(cmd as object).constructor.name}`);
    },
  };
}

function walk(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }))
    out = e.isDirectory() ? out.concat(walk(join(dir, e.name))) : out.concat(join(dir, e.name));
  return out;
}
