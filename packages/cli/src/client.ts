import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig } from "@keel/core";
import type { DataDirInUseError, DataDirLock, LocalPlatform } from "@keel/local";
import type { MetadataStore } from "@keel/metadata";
import { HttpTransport, KeelApiError, KeelConnectionError, type Query } from "@keel/sdk";
import { CliError, UsageError } from "./failure";

/**
 * The CLI's one client: the only place that reads the connection flags (`--url`, `--data-dir`,
 * `--as`) and the output flags (`--json`, `--debug`), and the only place that talks HTTP.
 * Commands receive a `Cli` and ask it for a connection: the server at --url, or the platform
 * opened in this process over a data dir.
 */
export const DEFAULT_URL = "http://localhost:5000";
export const DEFAULT_DATA_DIR = "./.keel";

/** The flags every command may accept; a command lists the ones that mean something to it. */
export type GlobalFlag = "url" | "data-dir" | "as" | "json";

export interface GlobalOptions {
  url?: string;
  dataDir?: string;
  as?: string;
  json: boolean;
  debug: boolean;
}

const VALUE_FLAGS: Record<string, "url" | "dataDir" | "as"> = { url: "url", "data-dir": "dataDir", as: "as" };

/** Takes the global flags out of argv (anywhere before a `--`); the rest goes to the command. */
export function parseGlobalOptions(argv: string[]): {
  options: GlobalOptions;
  given: Set<string>;
  rest: string[];
} {
  const options: GlobalOptions = { json: false, debug: false };
  const given = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (name === "json" || name === "debug") {
      if (m?.[2] !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      given.add(name);
    } else if (name && Object.hasOwn(VALUE_FLAGS, name)) {
      const value = m?.[2] ?? argv[++i];
      if (value === undefined || (m?.[2] === undefined && value.startsWith("--")))
        throw new UsageError(`--${name} needs a value`);
      options[VALUE_FLAGS[name]] = value;
      given.add(name);
    } else rest.push(arg);
  }
  return { options, given, rest };
}

/** A way to call Keel's HTTP API: a server, or the platform this command started in process. */
export interface Connection {
  readonly url: string;
  /** Set when the platform runs in this process over a data dir. */
  readonly local?: LocalPlatform;
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** A non-JSON answer (HTML, Markdown) as text. */
  text(path: string): Promise<string>;
  /** A binary answer (e.g. Parquet) as bytes. */
  bytes(path: string): Promise<Buffer>;
  close(): Promise<void>;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name does not resolve",
  ECONNRESET: "the connection was reset",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
};

/** fetch, with the network failures of a stopped server or a mistyped --url turned into one clear line. */
function reachableFetch(url: string): typeof fetch {
  return async (input, init) => {
    try {
      return await fetch(input, init);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if (/Failed to parse URL|Invalid URL/i.test(`${(e as Error).message} ${cause?.message ?? ""}`))
        throw new CliError(
          `--url ${url} is not a URL`,
          "Pass it as http://host:port, e.g. --url http://localhost:5000",
        );
      if (e instanceof TypeError) {
        const reason = (cause?.code && REASONS[cause.code]) ?? cause?.message ?? e.message;
        throw new CliError(
          `cannot reach Keel at ${url}: ${reason}`,
          "Start it with `npm start` or pass --url",
        );
      }
      throw e;
    }
  };
}

function httpConnection(
  url: string,
  principal: string | undefined,
  local?: LocalPlatform,
  token?: string,
): Connection {
  const base = url.replace(/\/+$/, "");
  const fetchImpl = reachableFetch(url);
  // The SDK wraps any fetch failure in a KeelConnectionError; the line reachableFetch wrote is the answer.
  let fetchFailure: unknown;
  const http = new HttpTransport({
    url,
    principal,
    token,
    fetch: (input, init) =>
      fetchImpl(input, init).catch((e) => {
        fetchFailure = e;
        throw e;
      }),
  });
  const explained = <T>(p: Promise<T>): Promise<T> =>
    p.catch((e) => {
      throw e instanceof KeelConnectionError && fetchFailure instanceof CliError ? fetchFailure : e;
    });
  return {
    url,
    local,
    request: (method, path, body) => explained(http.send(method, path, body)),
    get: (path, query) => explained(http.get(path, query)),
    post: (path, body) => explained(http.post(path, body)),
    text: async (path) => (await fetchOk(path)).text(),
    bytes: async (path) => Buffer.from(await (await fetchOk(path)).arrayBuffer()),
    close: async () => {
      await local?.close();
    },
  };

  async function fetchOk(path: string): Promise<Response> {
    const res = await fetchImpl(`${base}${path}`, {
      headers: {
        ...(principal ? { "x-keel-principal": principal } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    if (res.ok) return res;
    const text = await res.text();
    let err: { error_code?: string; message?: string } = {};
    try {
      err = JSON.parse(text);
    } catch {
      // Not MLflow error JSON: report the status.
    }
    throw new KeelApiError(
      err.error_code ?? "INTERNAL_ERROR",
      res.status,
      err.message ?? `GET ${path} failed with HTTP ${res.status}`,
    );
  }
}

export class Cli {
  constructor(
    readonly options: GlobalOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get json(): boolean {
    return this.options.json;
  }
  get debug(): boolean {
    return this.options.debug;
  }
  /** The server: --url, else KEEL_URL, else http://localhost:5000. */
  get url(): string {
    return this.options.url ?? this.env.KEEL_URL ?? DEFAULT_URL;
  }
  /** Whether the user named a server (--url or KEEL_URL) rather than relying on the default. */
  get urlGiven(): boolean {
    return this.options.url !== undefined || this.env.KEEL_URL !== undefined;
  }
  get dataDir(): string {
    return this.options.dataDir ?? DEFAULT_DATA_DIR;
  }
  /** Who the local platform records as the actor: --as, else $USER. */
  get principal(): string | undefined {
    return this.options.as ?? this.env.USER;
  }

  /** The Keel server at `url`; `token` (a `keel dev --auth` API token) defaults to $KEEL_TOKEN. */
  server(opts: { token?: string } = {}): Connection {
    let protocol: string | undefined;
    try {
      protocol = new URL(this.url).protocol;
    } catch {
      // Not a URL at all: refused below.
    }
    if (protocol !== "http:" && protocol !== "https:")
      throw new CliError(
        `--url ${this.url} is not an http(s) URL`,
        "Pass it as e.g. --url http://localhost:5000",
      );
    return httpConnection(this.url, this.principal, undefined, opts.token);
  }

  /** Starts the platform in this process over the data dir (what `keel dev` serves), for one command. */
  async openDataDir(): Promise<LocalPlatform> {
    // Loaded on use: commands that only talk to a server start faster without the platform.
    const { startLocalPlatform } = await import("@keel/local");
    try {
      return await startLocalPlatform({ port: 0, dataDir: this.dataDir });
    } catch (e) {
      throw dataDirFailure(e, this.dataDir);
    }
  }

  /**
   * Opens the metadata store under the data dir directly, without a server (e.g. to add the first
   * user before `keel dev --auth` starts). Holds the data dir's lock, so a `keel dev` running on it
   * is refused with a line saying to use --url. A data dir from an older Keel is migrated first.
   */
  async openDataDirStore(
    opts: { create?: boolean } = {},
  ): Promise<{ store: MetadataStore; close(): Promise<void> }> {
    const dir = resolve(this.dataDir);
    // Loaded on use, as in openDataDir.
    const { localPaths, openLocalMetadataStore } = await import("@keel/metadata/local");
    const paths = localPaths(dir);
    if (opts.create) mkdirSync(dir, { recursive: true });
    else if (!existsSync(paths.sqlite) && !existsSync(paths.dynalite))
      throw new UsageError(`no Keel data under ${dir} (expected ${paths.sqlite})`);
    // The lock alone: "@keel/local" itself loads the whole platform (every module, ~1 s of start).
    const { lockDataDir } = await import("@keel/local/data-dir-lock");
    let lock: DataDirLock;
    try {
      lock = lockDataDir(dir);
    } catch (e) {
      throw dataDirFailure(e, this.dataDir);
    }
    const store = await openLocalMetadataStore(dir, {
      table: loadConfig().core.table,
      log: (l) => console.error(l),
    }).catch((e) => {
      lock.release();
      throw e;
    });
    return {
      store,
      close: async () => {
        await store.close();
        lock.release();
      },
    };
  }

  /**
   * --url (or KEEL_URL) given: that server. Otherwise the data dir in process (`--data-dir`,
   * default ./.keel), for commands that work on local data without a server.
   */
  async serverOrDataDir(): Promise<Connection> {
    if (this.options.url && this.options.dataDir) throw new UsageError("give --url or --data-dir, not both");
    if (this.options.dataDir === undefined && this.urlGiven) return this.server();
    const local = await this.openDataDir();
    return httpConnection(local.url, this.principal, local);
  }

  /**
   * The server at `url` when one answers there; when none does, the platform in this process over
   * the data dir, unless a server was named (--url or KEEL_URL) and no --data-dir was.
   */
  async serverElseDataDir(): Promise<Connection> {
    const server = this.server();
    try {
      await server.get("/api/v1/health");
      return server;
    } catch (e) {
      if (this.urlGiven && this.options.dataDir === undefined) throw e;
    }
    process.stderr.write(`no Keel server at ${this.url}; running in process on ${this.dataDir}\n`);
    const local = await this.openDataDir();
    return httpConnection(local.url, this.principal, local);
  }
}

/** Why a data dir could not be opened, as one line saying what to do. */
export function dataDirFailure(e: unknown, dataDir: string): unknown {
  if ((e as Error)?.name === "DataDirInUseError") {
    const inUse = e as DataDirInUseError;
    return new CliError(
      `the data dir ${resolve(dataDir)} is in use by a running keel dev (pid ${inUse.pid})`,
      `Pass --url ${inUse.url ?? DEFAULT_URL} to use that server, or stop it`,
    );
  }
  return e;
}
