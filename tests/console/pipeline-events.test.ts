import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipelineRunEventSchema } from "@keel/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../helpers/platform";
import { HOLD_PIPELINE } from "./hold-pipeline";

interface Frame {
  event: string;
  data: ReturnType<typeof pipelineRunEventSchema.parse>;
}

/** Reads server-sent events until the stream ends, calling `onEvent` for each (it may act). */
async function readEvents(res: Response, onEvent: (f: Frame) => void = () => undefined): Promise<Frame[]> {
  const frames: Frame[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let at = buffer.indexOf("\n\n");
    while (at >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      at = buffer.indexOf("\n\n");
      const event = block.match(/^event: (.+)$/m)?.[1];
      const data = block.match(/^data: (.+)$/m)?.[1];
      if (!event || !data) continue;
      const frame = { event, data: pipelineRunEventSchema.parse(JSON.parse(data)) };
      frames.push(frame);
      onEvent(frame);
    }
  }
  return frames;
}

/** GET /api/v1/pipelines/runs/:id/events on a real server: live status as server-sent events. */
describe("pipeline run events (server-sent)", () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-run-events-"));
  let platform: Awaited<ReturnType<typeof startTestPlatform>>;
  let auth: Record<string, string>;

  beforeAll(async () => {
    platform = await startTestPlatform({ auth: "users" });
    auth = {
      authorization: `Bearer ${(await platform.platform.access.users.add("vera", ["viewer"])).token}`,
    };
    writeFileSync(join(dir, "hold.ts"), HOLD_PIPELINE);
    await platform.platform.services.pipelines.registerFile(join(dir, "hold.ts"));
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (gate: string) =>
    (await platform.platform.services.pipelines.startRun("hold", { params: { gate }, trigger: "api" })).runId;
  const events = (id: string, query = "", headers = auth) =>
    fetch(`${platform.url}/api/v1/pipelines/runs/${id}/events${query}`, { headers });

  it("streams a snapshot, heartbeats while the run waits, each step's change and the final state", async () => {
    const gate = join(dir, "gate-1");
    const runId = await start(gate);
    const res = await events(runId, "?heartbeat_seconds=1&max_seconds=60");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = await readEvents(res, (f) => {
      // Let the run go once the stream has shown it waiting.
      if (f.event === "heartbeat" && !existsSync(gate)) writeFileSync(gate, "");
    });
    const types = frames.map((f) => f.event);
    expect(types[0]).toBe("snapshot");
    expect(frames[0].data).toMatchObject({ run: { runId, status: "RUNNING" } });
    expect(types).toContain("heartbeat");
    const steps = frames.flatMap((f) => (f.data.type === "step" ? [f.data.step] : []));
    expect(steps.filter((s) => s.status === "SUCCEEDED").map((s) => s.step)).toEqual(
      expect.arrayContaining(["wait", "after"]),
    );
    expect(frames.at(-1)?.data).toEqual({ type: "end", reason: "final", status: "SUCCEEDED" });
    // The run event carries the final run record before the end.
    const runs = frames.flatMap((f) => (f.data.type === "run" ? [f.data.run] : []));
    expect(runs.at(-1)?.status).toBe("SUCCEEDED");
  });

  it("bounds each connection: a run still waiting ends the stream with reason 'limit'", async () => {
    const gate = join(dir, "gate-2");
    const runId = await start(gate);
    const frames = await readEvents(await events(runId, "?max_seconds=1"));
    expect(frames[0].event).toBe("snapshot");
    expect(frames.at(-1)?.data).toEqual({ type: "end", reason: "limit", status: "RUNNING" });
    writeFileSync(gate, "");
  });

  it("answers a finished run with its snapshot and end at once", async () => {
    const gate = join(dir, "gate-3");
    writeFileSync(gate, "");
    const runId = await start(gate);
    await readEvents(await events(runId));
    const frames = await readEvents(await events(runId));
    expect(frames.map((f) => f.event)).toEqual(["snapshot", "end"]);
    expect(frames[1].data).toMatchObject({ reason: "final", status: "SUCCEEDED" });
  });

  it("checks the caller and the run like the run's read route", async () => {
    expect((await events("no-such-run")).status).toBe(404);
    expect((await events("anything", "", {})).status).toBe(401);
    expect((await events("anything", "?max_seconds=0")).status).toBe(400);
  });
});
