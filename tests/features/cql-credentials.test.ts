import { GetSecretValueCommand, type GetSecretValueCommandInput } from "@aws-sdk/client-secrets-manager";
import { loadConfig } from "@keel/core";
import { CqlOnlineStore, createOnlineStore, secretCredentials } from "@keel/features";
import { describe, expect, it } from "vitest";

/** Secrets Manager cannot be reached here: a client stand-in answers, typed by the SDK's command. */
function fakeSecrets(secretString: string | undefined) {
  const inputs: GetSecretValueCommandInput[] = [];
  return {
    inputs,
    client: {
      send: async (cmd: unknown) => {
        expect(cmd).toBeInstanceOf(GetSecretValueCommand);
        inputs.push((cmd as GetSecretValueCommand).input);
        return { SecretString: secretString };
      },
    } as never,
  };
}

describe("CQL credentials from Secrets Manager (ScyllaDB Cloud)", () => {
  it("reads username and password from the named secret", async () => {
    const fake = fakeSecrets(JSON.stringify({ username: "keel", password: "s3cret", host: "ignored" }));
    const creds = await secretCredentials("prod/scylla", fake.client)();
    expect(creds).toEqual({ username: "keel", password: "s3cret" });
    expect(fake.inputs).toEqual([{ SecretId: "prod/scylla" }]);
  });

  it("passes on a CA bundle kept in the secret (verifies the nodes' TLS certificates)", async () => {
    const fake = fakeSecrets(JSON.stringify({ username: "keel", password: "s3cret", ca: "PEM" }));
    expect(await secretCredentials("prod/scylla", fake.client)()).toEqual({
      username: "keel",
      password: "s3cret",
      ca: "PEM",
    });
  });

  it("fails naming the secret, never echoing its value, when it is malformed", async () => {
    await expect(secretCredentials("s", fakeSecrets("not json").client)()).rejects.toThrow(
      /secret 's' is not JSON/,
    );
    const err = await secretCredentials(
      "s",
      fakeSecrets(JSON.stringify({ username: "u", password: "" })).client,
    )().catch((e: Error) => e);
    expect((err as Error).message).toMatch(/needs non-empty "username" and "password"/);
  });

  it("is what the factory wires for a non-Keyspaces contact point with KEEL_CQL_CREDENTIALS_SECRET", () => {
    const config = loadConfig({
      KEEL_ONLINE_STORE: "cql",
      KEEL_CQL_CONTACT_POINTS: "node-0.scylla.example:9142",
      KEEL_CQL_CREDENTIALS_SECRET: "prod/scylla",
      KEEL_CQL_TLS: "true",
    });
    expect(config.features.cql.credentialsSecret).toBe("prod/scylla");
    const store = createOnlineStore(config) as CqlOnlineStore;
    expect(store).toBeInstanceOf(CqlOnlineStore);
    expect(
      (store as unknown as { opts: { credentialsProvider?: unknown } }).opts.credentialsProvider,
    ).toBeTypeOf("function");
  });
});
