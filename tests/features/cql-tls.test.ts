import { contactHost, cqlTransport, isLoopbackHost } from "@keel/features";
import { describe, expect, it } from "vitest";

describe("CQL transport decision", () => {
  it("reads the host of every contact point form", () => {
    expect(contactHost("10.0.0.1")).toBe("10.0.0.1");
    expect(contactHost("10.0.0.1:9042")).toBe("10.0.0.1");
    expect(contactHost("node-0.scylla.cloud:9142")).toBe("node-0.scylla.cloud");
    expect(contactHost("[::1]:9042")).toBe("::1");
    expect(contactHost("::1")).toBe("::1");
    expect(contactHost("fe80::1")).toBe("fe80::1");
  });

  it("counts only localhost, 127.0.0.0/8 and ::1 as loopback", () => {
    for (const h of [
      "localhost",
      "LOCALHOST",
      "localhost.",
      "db.localhost",
      "127.0.0.1",
      "127.255.0.9",
      "::1",
    ])
      expect(isLoopbackHost(h), h).toBe(true);
    expect(isLoopbackHost("0:0:0:0:0:0:0:1")).toBe(true);
    expect(isLoopbackHost("::ffff:127.0.0.1")).toBe(true);
    for (const h of [
      "10.0.0.1",
      "128.0.0.1",
      "0.0.0.0",
      "::",
      "::2",
      "::ffff:10.0.0.1",
      "localhost.example.com",
      "127.0.0.1.nip.io",
      "node-0.scylla.cloud",
    ])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it("uses plain text only when every contact point is loopback, and TLS whenever it is configured", () => {
    expect(cqlTransport(["127.0.0.1:9042", "localhost", "[::1]:9042"], undefined)).toBe("plain");
    expect(cqlTransport(["127.0.0.1"], {})).toBe("tls");
    expect(cqlTransport(["node-0.scylla.cloud"], { ca: "pem" })).toBe("tls");
  });

  it("refuses any remote contact point without TLS, naming it", () => {
    expect(() => cqlTransport(["127.0.0.1", "node-1.scylla.cloud:9042"], undefined)).toThrow(
      expect.objectContaining({
        code: "INVALID_PARAMETER_VALUE",
        message: expect.stringMatching(/'node-1\.scylla\.cloud' is not loopback.*KEEL_CQL_TLS=true/),
      }),
    );
    expect(() => cqlTransport(["localhost.example.com"], undefined)).toThrow(/'localhost\.example\.com'/);
  });
});
