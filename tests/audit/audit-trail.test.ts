import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { AUDIT_PK, StoreAuditLog } from "@keel/audit";
import { ROLES, withContext } from "@keel/core";
import { SqliteMetadataStore } from "@keel/metadata";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditVerifyCommand } from "../../packages/cli/src/commands/audit";
import { freshMetadataStore } from "../helpers/metadata";
import { startTestPlatform } from "../helpers/platform";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const eventKey = (seq: number) => ({ pk: AUDIT_PK, sk: `E#${String(seq).padStart(12, "0")}` });

/** Runs the real CLI in a child process and returns its exit code and output. */
async function keel(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(ROOT, "packages/cli/bin/keel.mjs"), ...args],
      {
        cwd: ROOT,
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : -1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

describe("appends under concurrency", () => {
  let db: Awaited<ReturnType<typeof freshMetadataStore>>;
  beforeAll(async () => {
    db = await freshMetadataStore();
  });
  afterAll(async () => {
    await db?.close();
  });

  it("16 concurrent writers produce sequence numbers 1..n with no duplicates and a chain that verifies", async () => {
    const writers = 16;
    const perWriter = 5;
    // Half the writers share one log (requests in one process), half have their own (separate
    // Lambda invocations), so both the in-process queue and the cross-process race are exercised.
    const shared = new StoreAuditLog(db.store);
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        withContext({ principal: `writer-${w}`, requestId: `r${w}`, roles: ROLES }, async () => {
          const log = w < writers / 2 ? shared : new StoreAuditLog(db.store);
          for (let i = 0; i < perWriter; i++)
            await log.append({ action: "test.write", resource: `w:${w}`, state: { i } });
        }),
      ),
    );
    const log = new StoreAuditLog(db.store);
    const seqs: number[] = [];
    for await (const e of log.scan()) seqs.push(e.seq);
    expect(seqs).toEqual(Array.from({ length: writers * perWriter }, (_, i) => i + 1));
    expect(await log.verify()).toMatchObject({ ok: true, count: writers * perWriter });
    const mine = await log.list({ principal: "writer-3" });
    expect(mine.events.map((e) => e.resource)).toEqual(Array(perWriter).fill("w:3"));
  });

  it("names the first event that an edit, a changed state or a removal breaks", async () => {
    const log = new StoreAuditLog(db.store);
    const total = (await log.verify()).count;
    const original = await db.store.get(eventKey(5));

    await db.store.update(eventKey(5), { set: [["principal", "mallory"]] });
    expect(await log.verify()).toEqual({
      ok: false,
      count: 4,
      seq: 5,
      reason: "hash does not match the event's fields",
    });
    await db.store.put(original!);

    await db.store.update(eventKey(7), { set: [["state", JSON.stringify({ i: 999 })]] });
    expect(await log.verify()).toMatchObject({
      ok: false,
      seq: 7,
      reason: "state does not match its chained digest",
    });
    await db.store.update(eventKey(7), { set: [["state", "{not json"]] });
    expect(await log.verify()).toMatchObject({ ok: false, seq: 7 });

    await db.store.delete(eventKey(total));
    await db.store.delete(eventKey(7));
    expect(await log.verify()).toMatchObject({ ok: false, seq: 8, reason: "sequence gap: expected 7" });
  });
});

describe("the audit API and `keel audit verify`", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "keel-audit-"));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("lists with filters and pages, verifies over HTTP and on disk, and catches an edited event", async () => {
    const p = await startTestPlatform({ dataDir });
    const as = (principal: string) => ({ "x-keel-principal": principal });
    const t0 = Date.now();
    try {
      await p.call("POST", "/api/2.0/mlflow/registered-models/create", { name: "audited" }, as("alice"));
      for (let i = 0; i < 3; i++) {
        await p.call(
          "POST",
          "/api/2.0/mlflow/model-versions/create",
          { name: "audited", source: `s3://b/${i}` },
          as("bob"),
        );
      }
      await p.call(
        "POST",
        "/api/2.0/mlflow/registered-models/set-tag",
        { name: "audited", key: "k", value: "v" },
        as("alice"),
      );

      const byBob = await p.call("GET", "/api/v1/audit?principal=bob");
      expect(byBob.json.events.map((e: { action: string }) => e.action)).toEqual(
        Array(3).fill("registry.version.create"),
      );
      const byResource = await p.call("GET", `/api/v1/audit?resource=${encodeURIComponent("model:audited")}`);
      expect(byResource.json.events.map((e: { action: string }) => e.action)).toEqual([
        "registry.model.create",
        "registry.model.set_tag",
      ]);
      const byPrefix = await p.call(
        "GET",
        `/api/v1/audit?resource_prefix=${encodeURIComponent("model:audited/")}`,
      );
      expect(byPrefix.json.events).toHaveLength(3);
      const byAction = await p.call("GET", "/api/v1/audit?action=registry.model.set_tag");
      expect(byAction.json.events).toHaveLength(1);
      expect(byAction.json.events[0]).toMatchObject({
        principal: "alice",
        resource: "model:audited",
        state: { key: "k" },
      });
      const future = await p.call("GET", `/api/v1/audit?from=${new Date(Date.now() + 60_000).toISOString()}`);
      expect(future.json.events).toEqual([]);
      const window = await p.call("GET", `/api/v1/audit?from=${t0 - 1}&to=${Date.now() + 1}`);
      expect(window.json.events.length).toBe(5);

      const all = (await p.call("GET", "/api/v1/audit")).json.events as Array<{ seq: number; time: number }>;
      const cut = all[1].time;
      const early = await p.call("GET", `/api/v1/audit?to=${cut}`);
      expect(early.json.events.map((e: { seq: number }) => e.seq)).toEqual(
        all.filter((e) => e.time <= cut).map((e) => e.seq),
      );
      const bobEarly = await p.call("GET", `/api/v1/audit?principal=bob&to=${cut}`);
      expect(bobEarly.json.events.every((e: { time: number }) => e.time <= cut)).toBe(true);

      const seen: number[] = [];
      let token: string | undefined;
      do {
        const page = await p.call("GET", `/api/v1/audit?max_results=2${token ? `&page_token=${token}` : ""}`);
        seen.push(...page.json.events.map((e: { seq: number }) => e.seq));
        token = page.json.next_page_token;
      } while (token);
      expect(seen).toEqual([1, 2, 3, 4, 5]);

      const badTime = await p.call("GET", "/api/v1/audit?from=yesterday");
      expect(badTime.status).toBe(400);
      expect(badTime.json.message).toContain("from");
      const badToken = await p.call("GET", "/api/v1/audit?page_token=zzz");
      expect(badToken.status).toBe(400);
      // The trail has no write routes.
      expect((await p.call("DELETE", "/api/v1/audit")).status).toBe(404);

      const printed = vi.spyOn(console, "log").mockImplementation(() => {});
      try {
        expect(await auditVerifyCommand.run(["--url", p.url])).toBe(0);
        expect(printed).toHaveBeenCalledWith("ok 5 events");
      } finally {
        printed.mockRestore();
      }
    } finally {
      await p.close();
    }

    const clean = await keel(["audit", "verify", "--data-dir", dataDir]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe("ok 5 events\n");

    // Edit one stored event directly in the data dir's files, as someone with disk access could.
    const store = new SqliteMetadataStore({ path: join(dataDir, "metadata.sqlite") });
    await store.update(eventKey(3), { set: [["principal", "mallory"]] });
    await store.close();

    const tampered = await keel(["audit", "verify", "--data-dir", dataDir]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toBe(
      "event 3 does not verify: hash does not match the event's fields (2 events before it verified)\n",
    );
  });
});
