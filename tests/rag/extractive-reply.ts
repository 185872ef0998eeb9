import { type ChatBody, fakeWords } from "../helpers/openai-upstream";

const STOP = new Set(
  "a an and are as at be by does for how is of on or the to what when which who do".split(" "),
);
const content = (t: string) => fakeWords(t).filter((w) => !STOP.has(w));

/**
 * A deterministic extractive "model" for the fake upstream: it reads the numbered sources in the
 * system prompt, picks the sentence sharing the most content words with the question, and
 * answers it with its [n] marker; "I don't know." when nothing overlaps.
 */
export function extractiveReply(body: ChatBody): string {
  const system = String(body.messages.find((m) => m.role === "system")?.content ?? "");
  const question = new Set(
    content(String([...body.messages].reverse().find((m) => m.role === "user")?.content)),
  );
  let best = { score: 0, text: "", n: 0 };
  for (const m of system.matchAll(/^\[(\d+)\] [^\n]*\n([\s\S]*?)(?=\n\n\[\d+\] |(?![\s\S]))/gm)) {
    const n = Number(m[1]);
    for (const sentence of m[2].split(/(?<=[.!?])\s+|\n+/)) {
      const score = content(sentence).filter((w) => question.has(w)).length;
      if (score > best.score) best = { score, text: sentence.trim(), n };
    }
  }
  return best.score === 0 ? "I don't know." : `${best.text} [${best.n}]`;
}
