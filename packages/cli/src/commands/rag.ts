import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { listFolder, readFolder } from "@keel/rag";
import { type Command, command, UsageError } from "../command";
import { CliError } from "../failure";
import { createProgress } from "../progress";

const kbPath = (kb: string, rest = "") => `/api/v1/rag/${encodeURIComponent(kb)}${rest}`;

interface IngestAnswer {
  added: string[];
  updated: string[];
  unchanged: number;
  deleted: string[];
  chunks: number;
  index?: { rows: number; vectorIndex: boolean; textIndex: boolean };
}

/** Documents per upload request. */
const BATCH = 16;

export const ragCreateCommand = command({
  name: "rag create",
  summary: "create a knowledge base",
  flags: ["url", "json"],
  usage:
    "keel rag create <kb> --owner-team <team> [--embedding <model>] [--generation <model>] [--max-tokens 256] [--overlap 32] [--member <team>=<principal>]...",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "owner-team": { type: "string" },
        embedding: { type: "string" },
        generation: { type: "string" },
        "max-tokens": { type: "string" },
        overlap: { type: "string" },
        member: { type: "string", multiple: true },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name exactly one knowledge base");
    if (!values["owner-team"]) throw new UsageError("--owner-team is required");
    const teams: Record<string, string[]> = {};
    for (const m of values.member ?? []) {
      const [team, principal] = m.split("=");
      if (!team || !principal) throw new UsageError(`--member takes <team>=<principal>, got ${m}`);
      teams[team] = [...(teams[team] ?? []), principal];
    }
    const kb = await cli
      .server()
      .post<{ name: string; retrievalMode: string; notice?: string }>("/api/v1/rag/knowledge-bases", {
        name: positionals[0],
        ownerTeam: values["owner-team"],
        teams,
        ...(values.embedding ? { embedding: { model: values.embedding } } : {}),
        ...(values.generation ? { generation: { model: values.generation } } : {}),
        chunking: {
          maxTokens: Number(values["max-tokens"] ?? 256),
          overlapTokens: Number(values.overlap ?? 32),
        },
      });
    if (cli.json) console.log(JSON.stringify(kb, null, 2));
    else
      console.log(
        `knowledge base ${kb.name} created (${kb.retrievalMode}${kb.notice ? `: ${kb.notice}` : ""})`,
      );
    return 0;
  },
});

export const ragListCommand = command({
  name: "rag list",
  summary: "knowledge bases",
  flags: ["url", "json"],
  usage: "keel rag list [--json]",
  async run(_argv, cli) {
    const { knowledgeBases } = await cli.server().get<{
      knowledgeBases: Array<{
        name: string;
        ownerTeam: string;
        retrievalMode: string;
        embedding?: { model: string };
      }>;
    }>("/api/v1/rag/knowledge-bases");
    if (cli.json) console.log(JSON.stringify(knowledgeBases, null, 2));
    else
      for (const kb of knowledgeBases)
        console.log(
          `${kb.name.padEnd(24)} ${kb.ownerTeam.padEnd(16)} ${kb.retrievalMode.padEnd(10)} ${kb.embedding?.model ?? "-"}`,
        );
    return 0;
  },
});

export const ragIngestCommand = command({
  name: "rag ingest",
  summary:
    "ingest a folder (or one file) of Markdown, text, HTML and PDF into a knowledge base, incrementally",
  flags: ["url", "json"],
  usage: "keel rag ingest <kb> <path> [--prefix <uri prefix>] [--no-prune] [--url http://localhost:5000]",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { prefix: { type: "string", default: "" }, "no-prune": { type: "boolean", default: false } },
    });
    if (positionals.length !== 2) throw new UsageError("name a knowledge base and a path");
    const [kb, path] = positionals;
    const target = resolve(path);
    let isDir: boolean;
    try {
      isDir = statSync(target).isDirectory();
    } catch {
      throw new CliError(`no such file or folder: ${path}`, "Pass the folder of documents to ingest");
    }
    const root = isDir ? target : dirname(target);
    const files = isDir ? await listFolder(target) : [target];
    if (files.length === 0)
      throw new CliError(`no Markdown, text, HTML or PDF files under ${path}`, "Check the path");
    // A file that cannot be read (a corrupt PDF) is reported and kept out of the prune.
    const { documents: docs, failed } = await readFolder(root, files, values.prefix);
    for (const f of failed) console.error(`  ! ${f.uri}: ${f.error}`);
    const http = cli.server();
    const total: IngestAnswer = { added: [], updated: [], unchanged: 0, deleted: [], chunks: 0 };
    const progress = createProgress(process.stderr);
    await progress.task(
      `ingest ${docs.length} documents into ${kb}`,
      async (update) => {
        for (let i = 0; i < docs.length; i += BATCH) {
          const last = i + BATCH >= docs.length;
          const r = await http.post<IngestAnswer>(kbPath(kb, "/documents"), {
            documents: docs.slice(i, i + BATCH),
            skipIndexing: !last,
            // The sync's last call prunes what the folder no longer holds (a whole folder only).
            ...(last && isDir && !values["no-prune"]
              ? {
                  prunePrefix: values.prefix,
                  present: [...docs.slice(0, i).map((d) => d.uri), ...failed.map((f) => f.uri)],
                }
              : {}),
          });
          total.added.push(...r.added);
          total.updated.push(...r.updated);
          total.unchanged += r.unchanged;
          total.deleted.push(...r.deleted);
          total.chunks += r.chunks;
          total.index = r.index ?? total.index;
          update(
            `${Math.min(i + BATCH, docs.length)}/${docs.length} documents, ${total.chunks} chunks written, ${total.unchanged} unchanged`,
          );
        }
        return total;
      },
      (t) =>
        `${t.added.length} added, ${t.updated.length} updated, ${t.unchanged} unchanged, ${t.deleted.length} deleted, ${t.chunks} chunks`,
    );
    if (cli.json) {
      console.log(JSON.stringify({ ...total, failed }, null, 2));
      return failed.length ? 1 : 0;
    }
    for (const u of total.added) console.log(`  + ${u}`);
    for (const u of total.updated) console.log(`  ~ ${u}`);
    for (const u of total.deleted) console.log(`  - ${u}`);
    if (total.index)
      console.log(
        `index: ${total.index.rows} chunks, full text ${total.index.textIndex ? "indexed" : "none"}, vectors ${total.index.vectorIndex ? "ANN (IVF-PQ)" : "exact"}`,
      );
    if (failed.length) console.error(`${failed.length} file(s) could not be read (listed above with !)`);
    return failed.length ? 1 : 0;
  },
});

interface AnswerView {
  answer: string;
  answered: boolean;
  notice?: string;
  citations: Array<{ sentence: string; sources: Array<{ n: number; chunkId: string; source: string }> }>;
}

export const ragAskCommand = command({
  name: "rag ask",
  summary: "answer a question from a knowledge base, with citations",
  flags: ["url", "json"],
  usage: 'keel rag ask <kb> "<question>" [--k 5] [--rerank]',
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { k: { type: "string" }, rerank: { type: "boolean" } },
    });
    if (positionals.length !== 2) throw new UsageError("name a knowledge base and a question");
    const a = await cli.server().post<AnswerView>(kbPath(positionals[0], "/answer"), {
      question: positionals[1],
      ...(values.k ? { k: Number(values.k) } : {}),
      ...(values.rerank ? { rerank: true } : {}),
    });
    if (cli.json) {
      console.log(JSON.stringify(a, null, 2));
      return 0;
    }
    if (a.notice) console.log(`(${a.notice})`);
    console.log(a.answer);
    const sources = new Map(a.citations.flatMap((c) => c.sources).map((s) => [s.n, s]));
    if (sources.size) console.log("");
    for (const s of [...sources.values()].sort((x, y) => x.n - y.n))
      console.log(`[${s.n}] ${s.source} (${s.chunkId})`);
    return 0;
  },
});

/** Reads a golden set: one JSON object per line (question, relevant document URIs, optional reference). */
export function readGolden(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new CliError(
      `cannot read ${file}`,
      "Pass a JSONL file: one {question, relevant, reference?} per line",
    );
  }
  return text
    .split("\n")
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l)
    .map(([l, n]) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new CliError(`${file}:${n}: not JSON (${(e as Error).message})`, "One JSON object per line");
      }
    });
}

export const ragEvalCommand = command({
  name: "rag eval",
  summary:
    "evaluate a knowledge base on a golden set (recall@k, MRR, nDCG, citation precision, token F1) as a tracking run",
  flags: ["url", "json"],
  usage:
    "keel rag eval <kb> --golden questions.jsonl [--k 5] [--mode hybrid|vector|text] [--rerank] [--answers] [--experiment rag-eval] [--run-name <name>]",
  async run(argv, cli) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        golden: { type: "string" },
        k: { type: "string", default: "5" },
        mode: { type: "string" },
        rerank: { type: "boolean" },
        answers: { type: "boolean", default: false },
        experiment: { type: "string" },
        "run-name": { type: "string" },
      },
    });
    if (positionals.length !== 1) throw new UsageError("name exactly one knowledge base");
    if (!values.golden) throw new UsageError("--golden <file.jsonl> is required");
    const questions = readGolden(values.golden);
    const kb = positionals[0];
    const r = await createProgress(process.stderr).task(
      `evaluate ${kb} on ${questions.length} questions`,
      () =>
        cli
          .server()
          .post<{ runId?: string; experimentId?: string; metrics: Record<string, number> }>(
            kbPath(kb, "/evaluate"),
            {
              questions,
              k: Number(values.k),
              answers: values.answers,
              ...(values.mode ? { mode: values.mode } : {}),
              ...(values.rerank !== undefined ? { rerank: values.rerank } : {}),
              ...(values.experiment ? { experiment: values.experiment } : {}),
              ...(values["run-name"] ? { runName: values["run-name"] } : {}),
            },
          ),
      (x) => `run ${x.runId ?? "-"}`,
    );
    if (cli.json) {
      console.log(JSON.stringify(r, null, 2));
      return 0;
    }
    for (const [k, v] of Object.entries(r.metrics)) console.log(`  ${k.padEnd(20)} ${v.toFixed(4)}`);
    if (r.runId)
      console.log(
        `\ntracking run ${r.runId} (experiment ${r.experimentId}); compare: keel runs list --experiment ${r.experimentId}`,
      );
    return 0;
  },
});

export const ragCommands: Command[] = [
  ragCreateCommand,
  ragListCommand,
  ragIngestCommand,
  ragAskCommand,
  ragEvalCommand,
];
