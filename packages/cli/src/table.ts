/** Prints rows under a header, each column as wide as its widest cell (the last one unpadded). */
export function printTable(
  header: string[],
  rows: string[][],
  out: (line: string) => void = console.log,
): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  out(line(header));
  for (const r of rows) out(line(r));
}

/** An epoch-ms time as ISO seconds, or "-". */
export const when = (ms: number | string | undefined): string =>
  ms === undefined || ms === "" ? "-" : new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, "Z");
