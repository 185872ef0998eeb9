import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRagChatHandler, listFolder, readFolderDocument } from "@keel/rag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";
import { extractiveReply } from "./extractive-reply";

const corpus = join(import.meta.dirname, "corpus");
const golden = readFileSync(join(import.meta.dirname, "golden.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l));

let fake: FakeOpenAI;
let p: Awaited<ReturnType<typeof startTestPlatform>>;
const as = (principal: string) => ({ "x-keel-principal": principal });

async function corpusDocs() {
  const files = await listFolder(corpus);
  return Promise.all(files.map((f) => readFolderDocument(corpus, f)));
}

async function sse(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${p.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
  const text = await res.text();
  return text
    .split("\n\n")
    .map((e) => e.replace(/^data: /, "").trim())
    .filter((d) => d && d !== "[DONE]")
    .map((d) => JSON.parse(d));
}

const kb = (name: string, over: Record<string, unknown> = {}) => ({
  name,
  embedding: { model: "fake-embed" },
  generation: { model: "fake-chat" },
  ownerTeam: "risk",
  teams: { board: ["carol"] },
  chunking: { maxTokens: 96, overlapTokens: 16 },
  ...over,
});

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: extractiveReply, dims: 256 });
  p = await startTestPlatform({ config: { rag: { llmUrl: fake.baseURL, rerankUrl: fake.origin } } });
  const created = await p.call("POST", "/api/v1/rag/knowledge-bases", kb("handbook"));
  expect(created.status).toBe(201);
  const ingested = await p.call("POST", "/api/v1/rag/handbook/documents", { documents: await corpusDocs() });
  expect(ingested.status).toBe(200);
  expect(ingested.json.added).toHaveLength(7);
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
});

describe("knowledge bases", () => {
  it("are data: created with an owner team (the creator joins it) and listed", async () => {
    const got = await p.call("GET", "/api/v1/rag/knowledge-bases/handbook");
    expect(got.json).toMatchObject({
      name: "handbook",
      ownerTeam: "risk",
      retrievalMode: "hybrid",
      teams: { risk: ["local-user"], board: ["carol"] },
      access: { classifications: { public: ["*"] } },
    });
    const list = await p.call("GET", "/api/v1/rag/knowledge-bases");
    expect(list.json.knowledgeBases.map((k: { name: string }) => k.name)).toContain("handbook");
    expect((await p.call("POST", "/api/v1/rag/knowledge-bases", kb("handbook"))).status).toBe(409);
    const bad = await p.call("POST", "/api/v1/rag/knowledge-bases", kb("Bad Name!"));
    expect(bad.status).toBe(400);
    expect((await p.call("GET", "/api/v1/rag/knowledge-bases/nope")).status).toBe(404);
    expect((await p.call("POST", "/api/v1/rag/nope/retrieve", { query: "x" })).status).toBe(404);
  });
});

describe("retrieval", () => {
  it("fuses vector and full-text rankings and returns chunk ids, sources and scores", async () => {
    const r = await p.call("POST", "/api/v1/rag/handbook/retrieve", {
      query: "How many signatures does a large loan approval need?",
      k: 3,
    });
    expect(r.status).toBe(200);
    expect(r.json.mode).toBe("hybrid");
    const top = r.json.chunks[0];
    expect(top).toMatchObject({
      doc: "policies/lending.md",
      source: "policies/lending.md",
      title: "Lending policy",
    });
    expect(top.id).toBe("policies/lending.md#0");
    expect(top.heading).toBe("Lending policy > Loan approval");
    expect(top.scores.vector).toBeGreaterThan(0);
    expect(top.scores.text).toBeGreaterThan(0);
    expect(top.scores.fused).toBeCloseTo(top.score);
    expect(r.json.chunks.length).toBeLessThanOrEqual(3);
    // The embedding request went to the configured upstream.
    expect(fake.requests.some((q) => q.path === "/v1/embeddings" && q.body.model === "fake-embed")).toBe(
      true,
    );
  });

  it("weights the rankings: text weight 0 is the vector ranking alone", async () => {
    const q = { query: "staff cafeteria noon", k: 5 };
    const vectorOnly = await p.call("POST", "/api/v1/rag/handbook/retrieve", { ...q, mode: "vector" });
    const weighted = await p.call("POST", "/api/v1/rag/handbook/retrieve", { ...q, weights: { text: 0 } });
    const ids = (r: { json: { chunks: Array<{ id: string }> } }) => r.json.chunks.map((c) => c.id);
    expect(ids(weighted)).toEqual(ids(vectorOnly));
    const text = await p.call("POST", "/api/v1/rag/handbook/retrieve", { ...q, mode: "text" });
    expect(text.json.chunks[0].doc).toBe("ops/cafeteria.html");
    expect(
      text.json.chunks.every((c: { scores: { vector?: number } }) => c.scores.vector === undefined),
    ).toBe(true);
  });

  it("filters on metadata (tags, classification, URI prefix)", async () => {
    const q = "approval review";
    const tagged = await p.call("POST", "/api/v1/rag/handbook/retrieve", {
      query: q,
      k: 20,
      filter: { tags: ["compliance"] },
    });
    expect(new Set(tagged.json.chunks.map((c: { doc: string }) => c.doc))).toEqual(
      new Set(["policies/kyc.md"]),
    );
    const ops = await p.call("POST", "/api/v1/rag/handbook/retrieve", {
      query: q,
      k: 20,
      filter: { docPrefix: "ops/" },
    });
    expect(ops.json.chunks.length).toBeGreaterThan(0);
    expect(ops.json.chunks.every((c: { doc: string }) => c.doc.startsWith("ops/"))).toBe(true);
    const bad = await p.call("POST", "/api/v1/rag/handbook/retrieve", {
      query: q,
      filter: { team: ["x' OR 1=1"] },
    });
    expect(bad.status).toBe(400);
  });

  it("reranks through the TEI-style /rerank provider", async () => {
    const before = fake.requests.filter((r) => r.path === "/rerank").length;
    const r = await p.call("POST", "/api/v1/rag/handbook/retrieve", {
      query: "politically exposed persons compliance officer",
      k: 3,
      rerank: true,
    });
    expect(r.json.reranked).toBe(true);
    expect(fake.requests.filter((x) => x.path === "/rerank").length).toBe(before + 1);
    const scores = r.json.chunks.map((c: { scores: { rerank: number } }) => c.scores.rerank);
    expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));
    expect(r.json.chunks[0].doc).toBe("policies/kyc.md");
    expect(r.json.chunks[0].score).toBe(scores[0]);
  });
});

describe("document-level security", () => {
  const secretQuestion = "What is the merger codename Falcon offer price per share for Northwind?";

  it("a caller outside the document's team never retrieves it, whatever they ask", async () => {
    for (const mode of ["hybrid", "vector", "text"])
      for (const k of [1, 5, 50]) {
        const r = await p.call(
          "POST",
          "/api/v1/rag/handbook/retrieve",
          { query: secretQuestion, k, mode },
          as("mallory"),
        );
        expect(r.status).toBe(200);
        expect(r.json.chunks.map((c: { doc: string }) => c.doc)).not.toContain("board/merger.md");
      }
    // Filters cannot widen the scope: asking for the board's team or the restricted class finds nothing.
    const widened = await p.call(
      "POST",
      "/api/v1/rag/handbook/retrieve",
      {
        query: secretQuestion,
        filter: { team: ["board"], classification: ["restricted"], doc: ["board/merger.md"] },
      },
      as("mallory"),
    );
    expect(widened.json.chunks).toEqual([]);
    const docs = await p.call("GET", "/api/v1/rag/handbook/documents", undefined, as("mallory"));
    expect(docs.json.documents.map((d: { uri: string }) => d.uri)).not.toContain("board/merger.md");
    // Internal documents belong to the owner team: mallory reads only public ones.
    expect(docs.json.documents.every((d: { classification: string }) => d.classification === "public")).toBe(
      true,
    );
  });

  it("is never cited in an answer to a hostile caller, streamed or not", async () => {
    const a = await p.call(
      "POST",
      "/api/v1/rag/handbook/answer",
      { question: secretQuestion },
      as("mallory"),
    );
    expect(a.status).toBe(200);
    expect(JSON.stringify(a.json)).not.toMatch(/merger\.md|42 euros|Northwind/);
    const events = await sse(
      "/api/v1/rag/handbook/answer",
      { question: secretQuestion, stream: true },
      as("mallory"),
    );
    expect(JSON.stringify(events)).not.toMatch(/merger\.md|42 euros|Northwind/);
    // What the model was shown for mallory never held the document either.
    const prompts = fake.requests
      .filter((r) => r.path === "/v1/chat/completions")
      .map((r) => JSON.stringify(r.body));
    expect(prompts.some((t) => t.includes("42 euros"))).toBe(false);
  });

  it("a member of the document's team reads and cites it", async () => {
    const a = await p.call("POST", "/api/v1/rag/handbook/answer", { question: secretQuestion }, as("carol"));
    expect(a.json.answered).toBe(true);
    expect(a.json.answer).toContain("42 euros");
    expect(a.json.citations[0].sources[0]).toMatchObject({
      doc: "board/merger.md",
      chunkId: "board/merger.md#0",
    });
  });

  it("only the owner team ingests (laptop mode's admin role aside)", async () => {
    const { services } = p.platform;
    const { withContext } = await import("@keel/core");
    await expect(
      withContext({ principal: "mallory", requestId: "t", roles: ["data-scientist"] }, () =>
        services.rag.ingest("handbook", [{ uri: "x.md", content: "# x" }]),
      ),
    ).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
  });
});

describe("answers", () => {
  it("generate from the prompt template and map sentences to chunk ids and source URIs", async () => {
    const a = await p.call("POST", "/api/v1/rag/handbook/answer", {
      question: "How often are corporate credit limits reviewed?",
    });
    expect(a.status).toBe(200);
    expect(a.json.answered).toBe(true);
    expect(a.json.answer).toMatch(/reviewed once a year by the credit committee\. \[\d\]$/);
    const cite = a.json.citations[0];
    expect(a.json.answer.slice(cite.start, cite.end)).toBe(cite.sentence);
    expect(cite.sources[0]).toMatchObject({ doc: "policies/lending.md", source: "policies/lending.md" });
    expect(cite.sources[0].chunkId).toMatch(/^policies\/lending\.md#\d+$/);
    expect(a.json.chunks.map((c: { id: string }) => c.id)).toContain(cite.sources[0].chunkId);
    const chats = fake.requests.filter((r) => r.path === "/v1/chat/completions");
    const system = (chats[chats.length - 1].body.messages as Array<{ role: string; content: string }>)[0];
    expect(system.role).toBe("system");
    expect(system.content).toContain("cite the sources it relies on as [n]");
    expect(system.content).toMatch(/\[1\] .*\(policies\/lending\.md\)/);
  });

  it("say I don't know below the relevance threshold, without asking the model", async () => {
    const chats = () => fake.requests.filter((r) => r.path === "/v1/chat/completions").length;
    const before = chats();
    const a = await p.call("POST", "/api/v1/rag/handbook/answer", {
      question: "Zeppelin xylophone quasar?",
    });
    expect(a.json).toMatchObject({
      answered: false,
      reason: "no_relevant_chunks",
      answer: "I don't know.",
      citations: [],
    });
    expect(chats()).toBe(before);
  });

  it("stream as server-sent events: sources, deltas, then the citations", async () => {
    const events = await sse("/api/v1/rag/handbook/answer", {
      question: "When does the staff cafeteria open?",
      stream: true,
    });
    expect(events[0].type).toBe("sources");
    const deltas = events.filter((e) => e.type === "delta");
    expect(deltas.length).toBeGreaterThan(1);
    const done = events.at(-1);
    expect(done.type).toBe("done");
    expect(deltas.map((d) => d.text).join("")).toBe(done.result.answer);
    expect(done.result.answer).toContain("opens at noon");
    expect(done.result.citations[0].sources[0].doc).toBe("ops/cafeteria.html");
  });

  it("serve chat clients as the model rag:<kb> in OpenAI's response shape", async () => {
    const handler = createRagChatHandler(p.platform.services.rag);
    const out = (await handler({
      model: "rag:handbook",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "Which identity document does a new customer show?" },
      ],
    })) as {
      object: string;
      model: string;
      choices: Array<{ message: { content: string } }>;
      citations: Array<{ sources: Array<{ doc: string }> }>;
    };
    expect(out.object).toBe("chat.completion");
    expect(out.model).toBe("rag:handbook");
    const content = out.choices[0].message.content as string;
    expect(content).toMatch(/passport or national identity card/);
    expect(content).toMatch(
      /Sources:\n\[\d\] Know your customer — Know your customer > Identity checks \(policies\/kyc\.md\)/,
    );
    expect(out.citations[0].sources[0].doc).toBe("policies/kyc.md");

    const streamed = (await handler({
      model: "rag:handbook",
      stream: true,
      messages: [{ role: "user", content: "Which identity document does a new customer show?" }],
    })) as Response;
    const chunks = (await streamed.text())
      .split("\n\n")
      .map((e) => e.replace(/^data: /, "").trim())
      .filter((d) => d && d !== "[DONE]")
      .map((d) => JSON.parse(d));
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe(content);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    await expect(
      handler({ model: "rag:nope", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
    });
  });
});

describe("incremental ingestion", () => {
  it("skips unchanged documents, replaces a changed one's chunks, and drops deleted ones", async () => {
    const docs = await corpusDocs();
    const again = await p.call("POST", "/api/v1/rag/handbook/documents", {
      documents: docs,
      prunePrefix: "",
    });
    expect(again.json).toMatchObject({ added: [], updated: [], unchanged: 7, deleted: [], chunks: 0 });

    const embedsBefore = fake.requests.filter((r) => r.path === "/v1/embeddings").length;
    const changed = docs.map((d) =>
      d.uri === "ops/holidays.txt"
        ? { ...d, content: d.content.replace("nine to five", "eight to eight") }
        : d,
    );
    const withoutCafeteria = changed.filter((d) => d.uri !== "ops/cafeteria.html");
    const r = await p.call("POST", "/api/v1/rag/handbook/documents", {
      documents: withoutCafeteria,
      prunePrefix: "ops/",
    });
    expect(r.json).toMatchObject({
      added: [],
      updated: ["ops/holidays.txt"],
      unchanged: 5,
      deleted: ["ops/cafeteria.html"],
    });
    // Only the changed document was embedded again.
    const embeds = fake.requests.filter((x) => x.path === "/v1/embeddings").slice(embedsBefore);
    expect(embeds).toHaveLength(1);
    expect(JSON.stringify(embeds[0].body.input)).toContain("eight to eight");

    const hours = await p.call("POST", "/api/v1/rag/handbook/retrieve", {
      query: "contact centre public holidays hours",
      k: 10,
    });
    const texts = hours.json.chunks.map((c: { text: string }) => c.text).join(" ");
    expect(texts).toContain("eight to eight");
    expect(texts).not.toContain("nine to five");
    const lunch = await p.call("POST", "/api/v1/rag/handbook/retrieve", {
      query: "cafeteria noon lasagne",
      k: 10,
    });
    expect(lunch.json.chunks.map((c: { doc: string }) => c.doc)).not.toContain("ops/cafeteria.html");

    // Put the corpus back for the other tests.
    await p.call("POST", "/api/v1/rag/handbook/documents", { documents: docs });
  });

  it("deletes documents by URI", async () => {
    await p.call("POST", "/api/v1/rag/handbook/documents", {
      documents: [{ uri: "tmp/note.txt", content: "ephemeral walrus note" }],
    });
    const found = await p.call("POST", "/api/v1/rag/handbook/retrieve", { query: "walrus", mode: "text" });
    expect(found.json.chunks[0].doc).toBe("tmp/note.txt");
    const del = await p.call("POST", "/api/v1/rag/handbook/documents/delete", {
      uris: ["tmp/note.txt", "never.md"],
    });
    expect(del.json.deleted).toEqual(["tmp/note.txt"]);
    const gone = await p.call("POST", "/api/v1/rag/handbook/retrieve", { query: "walrus", mode: "text" });
    expect(gone.json.chunks).toEqual([]);
  });
});

describe("without an embedding route", () => {
  it("retrieves and answers on full text alone, and says so", async () => {
    const created = await p.call(
      "POST",
      "/api/v1/rag/knowledge-bases",
      kb("textonly", { embedding: undefined }),
    );
    expect(created.json).toMatchObject({ retrievalMode: "full_text" });
    expect(created.json.notice).toMatch(/full-text/);
    const embedsBefore = fake.requests.filter((r) => r.path === "/v1/embeddings").length;
    await p.call("POST", "/api/v1/rag/textonly/documents", { documents: await corpusDocs() });
    const r = await p.call("POST", "/api/v1/rag/textonly/retrieve", {
      query: "severity one incident postmortem",
    });
    expect(r.json.mode).toBe("text");
    expect(r.json.notice).toMatch(/no embedding route/);
    expect(r.json.chunks[0].doc).toBe("ops/incidents.md");
    expect(fake.requests.filter((x) => x.path === "/v1/embeddings").length).toBe(embedsBefore);
    const vector = await p.call("POST", "/api/v1/rag/textonly/retrieve", { query: "x", mode: "vector" });
    expect(vector.status).toBe(400);
    const a = await p.call("POST", "/api/v1/rag/textonly/answer", {
      question: "What happens in a severity one incident?",
    });
    expect(a.json).toMatchObject({ answered: true, mode: "text" });
    expect(a.json.notice).toMatch(/full text/);
    expect(a.json.citations[0].sources[0].doc).toBe("ops/incidents.md");
  });
});

describe("evaluation", () => {
  it("computes retrieval and answer metrics and logs each evaluation as a tracking run", async () => {
    await p.call(
      "POST",
      "/api/v1/rag/knowledge-bases",
      kb("handbook-small", { chunking: { maxTokens: 32, overlapTokens: 4 } }),
    );
    await p.call("POST", "/api/v1/rag/handbook-small/documents", { documents: await corpusDocs() });
    const results = [];
    for (const name of ["handbook", "handbook-small"]) {
      const r = await p.call("POST", `/api/v1/rag/${name}/evaluate`, {
        questions: golden,
        k: 3,
        answers: true,
        experiment: "rag-eval-test",
      });
      expect(r.status).toBe(200);
      results.push(r.json);
    }
    const [big, small] = results;
    expect(big.metrics.recall_at_3).toBeGreaterThanOrEqual(0.8);
    expect(big.metrics.mrr).toBeGreaterThan(0.6);
    expect(big.metrics.ndcg_at_3).toBeGreaterThan(0.6);
    expect(big.metrics.citation_precision).toBeGreaterThan(0.7);
    expect(big.metrics.token_f1).toBeGreaterThan(0.5);
    expect(big.params).toMatchObject({
      kb: "handbook",
      k: "3",
      "chunking.max_tokens": "96",
      "fusion.rrf_k": "60",
    });
    expect(small.params["chunking.max_tokens"]).toBe("32");

    // Both runs sit in one experiment, comparable in the runs table.
    const exp = await p.call("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=rag-eval-test");
    const runs = await p.call("POST", "/api/2.0/mlflow/runs/search", {
      experiment_ids: [exp.json.experiment.experiment_id],
    });
    expect(runs.json.runs).toHaveLength(2);
    const byKb = Object.fromEntries(
      runs.json.runs.map(
        (run: {
          data: {
            params: Array<{ key: string; value: string }>;
            metrics: Array<{ key: string; value: number }>;
          };
        }) => [run.data.params.find((x) => x.key === "kb")?.value, run],
      ),
    );
    expect(byKb.handbook.info.status).toBe("FINISHED");
    // biome-ignore lint/suspicious/noExplicitAny: MLflow run JSON
    const metric = (run: any, key: string) =>
      run.data.metrics.find((m: { key: string }) => m.key === key)?.value;
    expect(metric(byKb.handbook, "recall_at_3")).toBeCloseTo(big.metrics.recall_at_3);
    expect(metric(byKb["handbook-small"], "mrr")).toBeCloseTo(small.metrics.mrr);
  });
});
