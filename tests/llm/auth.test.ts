import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "../helpers/openai-upstream";
import { startTestPlatform } from "../helpers/platform";

/** `keel dev --auth`: virtual keys and the platform's own user tokens both reach the gateway. */
let p: Awaited<ReturnType<typeof startTestPlatform>>;
let fake: FakeOpenAI;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  fake = await startFakeOpenAI();
  p = await startTestPlatform({
    auth: "users",
    config: { llm: { upstreams: `chat=${fake.baseURL}`, cacheMaxEntries: 100 } },
  });
  for (const [name, role] of [
    ["ada", "admin"],
    ["dan", "data-scientist"],
    ["vic", "viewer"],
  ] as const)
    tokens[name] = (await p.platform.access.users.add(name, [role])).token;
});
afterAll(async () => {
  await p?.close();
  await fake?.close();
});

const client = (apiKey: string) => new OpenAI({ baseURL: `${p.url}/llm/v1`, apiKey, maxRetries: 0 });
const hi = { model: "chat", messages: [{ role: "user" as const, content: "hi" }] };

describe("gateway authentication with keel dev --auth", () => {
  it("serves a configured upstream to a user token with infer, billed to the user", async () => {
    expect((await client(tokens.dan).models.list()).data.map((m) => m.id)).toEqual(["chat"]);
    const res = await client(tokens.dan).chat.completions.create(hi);
    expect(res.choices[0].message.content).toBe("Hello from the fake model.");
    const usage = await p.call("GET", "/api/v1/llm/usage?team=user:dan", undefined, {
      authorization: `Bearer ${tokens.ada}`,
    });
    expect(usage.json.usage).toHaveLength(1);
  });

  it("refuses a viewer (403), no credentials (401) and an unknown key (401) in OpenAI's shape", async () => {
    await expect(client(tokens.vic).chat.completions.create(hi)).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    const none = await p.call("POST", "/llm/v1/chat/completions", hi);
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ type: "authentication_error", code: "missing_api_key" });
    const bogus = await client("sk-keel-nope")
      .chat.completions.create(hi)
      .catch((e) => e);
    expect(bogus).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(bogus.code).toBe("invalid_api_key");
  });

  it("takes a virtual key (not a platform token) and keeps key management for admins", async () => {
    const asDan = await p.call(
      "POST",
      "/api/v1/llm/keys",
      { name: "x", team: "t" },
      { authorization: `Bearer ${tokens.dan}` },
    );
    expect(asDan.status).toBe(403);
    const created = await p.call(
      "POST",
      "/api/v1/llm/keys",
      { name: "svc", team: "t", models: ["chat"] },
      {
        authorization: `Bearer ${tokens.ada}`,
      },
    );
    expect(created.status).toBe(201);
    const res = await client(created.json.key).chat.completions.create(hi);
    expect(res.choices[0].message.content).toBe("Hello from the fake model.");
    const other = await client(created.json.key)
      .chat.completions.create({ ...hi, model: "other" })
      .catch((e) => e);
    expect(other).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(other.code).toBe("model_not_allowed");
  });
});
