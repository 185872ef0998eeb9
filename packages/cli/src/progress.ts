/**
 * Live progress for long commands: one line per task with its state and duration. On a TTY
 * the running task's line is redrawn in place with a spinner; elsewhere (CI, logs) each state
 * change is printed once.
 */
export interface Progress {
  /** Runs a task, showing it as running, then done (with its summary) or failed. */
  task<T>(
    title: string,
    fn: (update: (detail: string) => void) => Promise<T>,
    summarize?: (r: T) => string,
  ): Promise<T>;
  info(line: string): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function createProgress(out: NodeJS.WriteStream = process.stdout): Progress {
  const tty = Boolean(out.isTTY);
  let n = 0;
  return {
    info(line) {
      out.write(`${line}\n`);
    },
    async task(title, fn, summarize) {
      const idx = ++n;
      const started = Date.now();
      let detail = "";
      let frame = 0;
      const draw = () => {
        if (!tty) return;
        out.write(
          `\r\x1b[2K  ${FRAMES[frame++ % FRAMES.length]} ${idx}. ${title}${detail ? ` — ${detail}` : ""}`,
        );
      };
      if (!tty) out.write(`  … ${idx}. ${title}\n`);
      const timer = tty ? setInterval(draw, 100) : undefined;
      draw();
      const secs = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      try {
        const r = await fn((d) => {
          detail = d;
          if (!tty) out.write(`      ${d}\n`);
        });
        const summary = summarize ? summarize(r) : "";
        out.write(
          `${tty ? "\r\x1b[2K" : ""}  ✔ ${idx}. ${title}${summary ? ` — ${summary}` : ""} (${secs()})\n`,
        );
        return r;
      } catch (e) {
        out.write(
          `${tty ? "\r\x1b[2K" : ""}  ✖ ${idx}. ${title} failed after ${secs()}: ${(e as Error).message}\n`,
        );
        throw e;
      } finally {
        if (timer) clearInterval(timer);
      }
    },
  };
}
