/**
 * Server-sent events from byte chunks: yields each `data:` payload (multi-line data joined),
 * stopping at `[DONE]`. Chunks may split events anywhere, even inside a UTF-8 character.
 */
export async function* sseData(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = eventEnd(buffer);
    while (end) {
      const data = dataOf(buffer.slice(0, end.at));
      buffer = buffer.slice(end.at + end.len);
      if (data === "[DONE]") return;
      if (data !== undefined) yield data;
      end = eventEnd(buffer);
    }
  }
  const rest = dataOf(buffer);
  if (rest !== undefined && rest !== "[DONE]") yield rest;
}

function eventEnd(buffer: string): { at: number; len: number } | undefined {
  const m = /\r?\n\r?\n/.exec(buffer);
  return m ? { at: m.index, len: m[0].length } : undefined;
}

function dataOf(event: string): string | undefined {
  const lines = event
    .split(/\r?\n/)
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).replace(/^ /, ""));
  return lines.length ? lines.join("\n") : undefined;
}
