import { useEffect, useRef, useState } from "preact/hooks";
import { authHeaders, keel, type Loaded } from "./api";

interface Run {
  runId: string;
  status: string;
  [k: string]: unknown;
}
interface Step {
  step: string;
  index?: number;
  status: string;
  [k: string]: unknown;
}
export interface RunWithSteps {
  run: Run;
  steps: Step[];
}
/** How the page follows the run: server-sent events, polling (their fallback), or not (finished). */
export type LiveMode = "events" | "polling" | "done";

const ACTIVE = new Set(["RUNNING", "PENDING", "STARTING"]);
/** A proxy that buffers the stream (API Gateway in front of a Lambda does) shows nothing this long. */
const FIRST_EVENT_MS = 5000;
const POLL_MS = 1000;

/**
 * A pipeline run with its steps, kept live: server-sent events from
 * `GET /api/v1/pipelines/runs/:id/events` (read with fetch, so the caller's Authorization header
 * goes along, which EventSource cannot send), reconnecting when a connection's time runs out;
 * polling `pipelines.getRun` every second when the stream cannot be opened, fails, or buffers.
 */
export function useLiveRun(id: string): Loaded<RunWithSteps> & { mode: LiveMode } {
  const [state, setState] = useState<{ data?: RunWithSteps; error?: Error; mode: LiveMode }>({
    mode: "events",
  });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    const live = () => mine === seq.current;
    const abort = new AbortController();
    const set = (next: Partial<typeof state>) => live() && setState((s) => ({ ...s, ...next }));
    const poll = async () => {
      set({ mode: "polling" });
      while (live()) {
        try {
          const data = (await keel.call("pipelines.getRun", { params: { id } })) as RunWithSteps;
          set({ data, error: undefined });
          if (!ACTIVE.has(data.run.status)) return set({ mode: "done" });
        } catch (error) {
          set({ error: error as Error });
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };
    (async () => {
      let current: RunWithSteps | undefined;
      while (live()) {
        const outcome = await stream(
          id,
          abort.signal,
          (d) => {
            current = d;
            set({ data: d, error: undefined, mode: "events" });
          },
          current,
        );
        if (!live()) return;
        if (outcome === "final") {
          // One read of the finished run, so the page ends on exactly what the server recorded.
          const data = (await keel.call("pipelines.getRun", { params: { id } }).catch(() => current)) as
            | RunWithSteps
            | undefined;
          return set({ data, mode: "done" });
        }
        if (outcome === "failed") return poll();
        // "limit": the connection's time ran out; connect again.
      }
    })();
    return () => {
      seq.current++;
      abort.abort();
    };
  }, [id, tick]);
  return {
    ...state,
    loading: state.data === undefined && !state.error,
    reload: () => setTick((t) => t + 1),
  };
}

/** One connection: applies each event to the run and says how the stream ended. */
async function stream(
  id: string,
  signal: AbortSignal,
  apply: (d: RunWithSteps) => void,
  start?: RunWithSteps,
): Promise<"final" | "limit" | "failed"> {
  let data = start;
  const timer = new AbortController();
  const onAbort = () => timer.abort();
  signal.addEventListener("abort", onAbort);
  const slow = setTimeout(() => timer.abort(), FIRST_EVENT_MS);
  try {
    const res = await fetch(`/api/v1/pipelines/runs/${encodeURIComponent(id)}/events?max_seconds=60`, {
      headers: { accept: "text/event-stream", ...authHeaders() },
      signal: timer.signal,
    });
    if (!res.ok || !res.body || !res.headers.get("content-type")?.startsWith("text/event-stream"))
      return "failed";
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "limit";
      buffer += value;
      for (let at = buffer.indexOf("\n\n"); at >= 0; at = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const line = block.split("\n").find((l) => l.startsWith("data: "));
        if (!line) continue;
        const e = JSON.parse(line.slice(6));
        clearTimeout(slow);
        if (e.type === "snapshot") data = { run: e.run, steps: e.steps };
        else if (e.type === "end") return e.reason === "final" ? "final" : "limit";
        else if (!data) continue;
        else if (e.type === "run") data = { ...data, run: e.run };
        else if (e.type === "step") {
          // In place, keeping the server's order (a Map step has one record per item).
          const key = (s: Step) => `${s.step}#${s.index ?? ""}`;
          const at = data.steps.findIndex((s) => key(s) === key(e.step));
          const steps = [...data.steps];
          if (at >= 0) steps[at] = e.step;
          else steps.push(e.step);
          data = { ...data, steps };
        } else continue;
        apply(data);
      }
    }
  } catch {
    return signal.aborted ? "limit" : "failed";
  } finally {
    clearTimeout(slow);
    signal.removeEventListener("abort", onAbort);
  }
}
