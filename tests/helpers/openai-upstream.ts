import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small OpenAI-compatible upstream for tests (what vLLM, Ollama or OpenAI would be): real HTTP,
 * `GET /v1/models`, `POST /v1/chat/completions` (JSON, or server-sent events with `stream: true`,
 * usage in the last chunk when `stream_options.include_usage`), `POST /v1/embeddings`, and a
 * TEI-style `POST /rerank`. Answers are deterministic:
 * - chat replies with `reply` (a fixed string or a function of the request); streamed, the reply
 *   is split into `chunkSize`-character deltas sent `tokenIntervalMs` apart;
 * - embeddings are hashed bags of words (each lower-cased word adds 1 to `dims` buckets, then the
 *   vector is L2-normalised), so texts that share words are near each other, as with a real model;
 * - rerank scores a document by the fraction of the query's words it contains.
 * Cues: `fail` answers every request with that status (OpenAI's error shape, `Retry-After` on 429),
 * `stallMs` waits before answering, `failAfterChunks` drops the stream after N chunks. Change the
 * cues between requests through the returned object; `requests` records every request body.
 */
export interface FakeOpenAIOptions {
  models?: string[];
  reply?: string | ((body: ChatBody) => string);
  dims?: number;
  chunkSize?: number;
  tokenIntervalMs?: number;
  /** Keep every request in `requests` (default true; benchmarks turn it off). */
  keepRequests?: boolean;
}

export interface ChatBody {
  model: string;
  messages: { role: string; content: unknown }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [k: string]: unknown;
}

export interface FakeOpenAI {
  /** Base URL including `/v1`, what an OpenAI client takes as `baseURL`. */
  baseURL: string;
  /** Origin without `/v1` (for `/rerank`). */
  origin: string;
  requests: { path: string; body: Record<string, unknown>; headers: IncomingMessage["headers"] }[];
  fail: number | undefined;
  stallMs: number;
  failAfterChunks: number | undefined;
  /** Streams whose caller closed the connection before the answer ended. */
  streamsClosedEarly: number;
  /** Requests of any kind whose caller closed the connection before the answer ended. */
  closedEarly: number;
  /** TCP connections accepted (keep-alive callers reuse theirs). */
  connections: number;
  close(): Promise<void>;
}

/** Whitespace/punctuation word split used for fake token counts, embeddings and rerank scores. */
export function fakeWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The deterministic embedding the fake upstream returns for `text`. */
export function fakeEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const w of fakeWords(text)) {
    const h = createHash("sha256").update(w).digest();
    v[h.readUInt32BE(0) % dims] += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join(" ");
  return "";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const models = opts.models ?? ["fake-chat", "fake-embed"];
  const dims = opts.dims ?? 64;
  const chunkSize = opts.chunkSize ?? 4;
  const interval = opts.tokenIntervalMs ?? 0;

  const state: FakeOpenAI = {
    baseURL: "",
    origin: "",
    requests: [],
    fail: undefined,
    stallMs: 0,
    failAfterChunks: undefined,
    streamsClosedEarly: 0,
    closedEarly: 0,
    connections: 0,
    close: async () => {},
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  async function chat(body: ChatBody, res: ServerResponse) {
    const reply =
      typeof opts.reply === "function" ? opts.reply(body) : (opts.reply ?? "Hello from the fake model.");
    const promptTokens = body.messages.reduce((n, m) => n + fakeWords(contentText(m.content)).length, 0);
    const completionTokens = fakeWords(reply).length;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    const id = `chatcmpl-${createHash("sha256").update(JSON.stringify(body)).digest("hex").slice(0, 12)}`;
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      json(res, 200, {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
        usage,
      });
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    let closedEarly = false;
    res.on("close", () => {
      if (res.writableEnded) return;
      closedEarly = true;
      state.streamsClosedEarly++;
    });
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    const base = { id, object: "chat.completion.chunk", created, model: body.model };
    send({
      ...base,
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    });
    let sent = 0;
    for (let i = 0; i < reply.length; i += chunkSize) {
      if (state.failAfterChunks !== undefined && sent >= state.failAfterChunks) {
        res.destroy();
        return;
      }
      if (interval > 0) await sleep(interval);
      if (closedEarly) return;
      send({
        ...base,
        choices: [{ index: 0, delta: { content: reply.slice(i, i + chunkSize) }, finish_reason: null }],
      });
      sent++;
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    if (body.stream_options?.include_usage) send({ ...base, choices: [], usage });
    res.write("data: [DONE]\n\n");
    res.end();
  }

  function embeddings(body: Record<string, unknown>, res: ServerResponse) {
    const input = body.input;
    const texts = Array.isArray(input) ? input.map(String) : [String(input ?? "")];
    const tokens = texts.reduce((n, t) => n + fakeWords(t).length, 0);
    json(res, 200, {
      object: "list",
      model: body.model,
      data: texts.map((t, index) => ({ object: "embedding", index, embedding: fakeEmbedding(t, dims) })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  function rerank(body: Record<string, unknown>, res: ServerResponse) {
    const query = new Set(fakeWords(String(body.query ?? "")));
    const texts = (body.texts ?? body.documents ?? []) as string[];
    const scored = texts.map((t, index) => {
      const words = new Set(fakeWords(t));
      const hits = [...query].filter((w) => words.has(w)).length;
      return { index, score: query.size ? hits / query.size : 0 };
    });
    scored.sort((a, b) => b.score - a.score || a.index - b.index);
    json(res, 200, scored);
  }

  const server = createServer((req, res) => {
    res.on("close", () => {
      if (!res.writableEnded) state.closedEarly++;
    });
    (async () => {
      const url = new URL(req.url ?? "/", "http://upstream.local");
      const body = req.method === "POST" ? await readBody(req) : {};
      if (opts.keepRequests !== false)
        state.requests.push({ path: url.pathname, body, headers: req.headers });
      if (state.stallMs > 0) await sleep(state.stallMs);
      if (state.fail !== undefined) {
        const headers: Record<string, string> = state.fail === 429 ? { "retry-after": "1" } : {};
        json(
          res,
          state.fail,
          {
            error: {
              message: `fake upstream failing with ${state.fail}`,
              type: "server_error",
              param: null,
              code: null,
            },
          },
          headers,
        );
        return;
      }
      if (req.method === "GET" && url.pathname === "/v1/models") {
        json(res, 200, {
          object: "list",
          data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "fake" })),
        });
      } else if (req.method === "POST" && url.pathname === "/v1/chat/completions") {
        await chat(body as ChatBody, res);
      } else if (req.method === "POST" && url.pathname === "/v1/embeddings") {
        embeddings(body, res);
      } else if (req.method === "POST" && url.pathname === "/rerank") {
        rerank(body, res);
      } else {
        json(res, 404, {
          error: {
            message: `no route ${url.pathname}`,
            type: "invalid_request_error",
            param: null,
            code: null,
          },
        });
      }
    })().catch((e) => {
      if (!res.headersSent)
        json(res, 500, { error: { message: String(e), type: "server_error", param: null, code: null } });
      else res.destroy();
    });
  });
  server.on("connection", () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;
  state.baseURL = `${state.origin}/v1`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
