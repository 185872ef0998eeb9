import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { KeelError } from "./errors";
import { jsonBody } from "./http";

describe("KeelError", () => {
  it("carries the lower error it wraps as its ES2022 cause", () => {
    const lower = new Error("socket hang up");
    const e = new KeelError("TEMPORARILY_UNAVAILABLE", "tracking server unreachable", undefined, {
      cause: lower,
    });
    expect(e.cause).toBe(lower);
    expect(e.code).toBe("TEMPORARILY_UNAVAILABLE");
    expect(new KeelError("BAD_REQUEST", "no cause").cause).toBeUndefined();
  });

  it("is what a malformed JSON body becomes, with the parser's error as cause", async () => {
    const app = new Hono();
    let caught: unknown;
    app.post("/", async (c) => {
      try {
        await jsonBody(c, z.object({}));
      } catch (e) {
        caught = e;
      }
      return c.text("ok");
    });
    await app.request("/", { method: "POST", body: "{nope" });
    expect(caught).toBeInstanceOf(KeelError);
    expect((caught as KeelError).code).toBe("MALFORMED_REQUEST");
    expect((caught as KeelError).cause).toBeInstanceOf(SyntaxError);
  });
});
