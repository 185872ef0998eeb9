import {
  BedrockRuntimeServiceException,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  ConverseStreamCommand,
  type ConverseStreamOutput,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandInput,
  type InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandInput,
  type ResponseStream,
} from "@aws-sdk/client-sagemaker-runtime";
import { BedrockProvider, converseInput, OpenAIHttpProvider, SageMakerProvider } from "@keel/llm";
import { describe, expect, it } from "vitest";
import { llmProviderSuite } from "../conformance/llm-provider.suite";
import { startFakeOpenAI } from "../helpers/openai-upstream";

const REPLY = "Hello from the fake model.";

llmProviderSuite("openai-compatible HTTP", async () => {
  const fake = await startFakeOpenAI({ reply: REPLY });
  let failing: number | undefined;
  const provider = new OpenAIHttpProvider({ baseURL: fake.baseURL, apiKey: "upstream-secret" });
  // The fake's failure cue is sticky: clear it after one request.
  const chat = provider.chat.bind(provider);
  const stream = provider.chatStream.bind(provider);
  const once = () => {
    fake.fail = failing;
    failing = undefined;
  };
  provider.chat = (r, s) => {
    once();
    return chat(r, s).finally(() => (fake.fail = undefined));
  };
  provider.chatStream = (r, s) => {
    once();
    const it = stream(r, s);
    return (async function* () {
      try {
        yield* it;
      } finally {
        fake.fail = undefined;
      }
    })();
  };
  return {
    provider,
    model: "fake-chat",
    reply: REPLY,
    failNext: (s) => (failing = s),
    close: () => fake.close(),
  };
});

/** A Bedrock runtime client stub: answers Converse/ConverseStream as the service would, checks the input's type. */
function bedrockStub() {
  const inputs: ConverseCommandInput[] = [];
  let failing: number | undefined;
  const fail = () => {
    const status = failing;
    failing = undefined;
    if (status === undefined) return;
    const $metadata = { httpStatusCode: status };
    if (status === 429) throw new ThrottlingException({ message: "Rate exceeded", $metadata });
    if (status === 400) throw new ValidationException({ message: "bad input", $metadata });
    throw new BedrockRuntimeServiceException({
      name: "InternalServerException",
      $fault: "server",
      message: "boom",
      $metadata,
    });
  };
  const client = {
    async send(command: ConverseCommand | ConverseStreamCommand): Promise<unknown> {
      inputs.push(command.input);
      fail();
      if (command instanceof ConverseCommand) {
        const out: ConverseCommandOutput = {
          $metadata: { requestId: "r1" },
          output: { message: { role: "assistant", content: [{ text: REPLY }] } },
          stopReason: "end_turn",
          usage: { inputTokens: 7, outputTokens: 6, totalTokens: 13 },
          metrics: { latencyMs: 5 },
        };
        return out;
      }
      const events: ConverseStreamOutput[] = [
        { messageStart: { role: "assistant" } },
        ...REPLY.match(/.{1,5}/g)!.map((text) => ({
          contentBlockDelta: { contentBlockIndex: 0, delta: { text } },
        })),
        { messageStop: { stopReason: "end_turn" } },
        {
          metadata: {
            usage: { inputTokens: 7, outputTokens: 6, totalTokens: 13 },
            metrics: { latencyMs: 5 },
          },
        },
      ];
      return {
        $metadata: { requestId: "r2" },
        stream: (async function* () {
          yield* events;
        })(),
      };
    },
  };
  return { client, inputs, failNext: (s: number) => (failing = s) };
}

const bedrock = bedrockStub();
llmProviderSuite("Bedrock Converse (stubbed client)", async () => ({
  provider: new BedrockProvider(bedrock.client),
  model: "anthropic.claude-3-haiku-20240307-v1:0",
  reply: REPLY,
  failNext: bedrock.failNext,
}));

/** A SageMaker runtime client stub: an OpenAI-compatible container behind InvokeEndpoint[WithResponseStream]. */
function sagemakerStub() {
  const inputs: Array<InvokeEndpointCommandInput | InvokeEndpointWithResponseStreamCommandInput> = [];
  let failing: number | undefined;
  const client = {
    async send(command: InvokeEndpointCommand | InvokeEndpointWithResponseStreamCommand): Promise<unknown> {
      inputs.push(command.input);
      if (failing !== undefined) {
        const status = failing;
        failing = undefined;
        throw Object.assign(new Error(`model error ${status}`), {
          name: status === 429 ? "ThrottlingException" : status === 400 ? "ValidationError" : "ModelError",
          $metadata: { httpStatusCode: status },
        });
      }
      const body = JSON.parse(new TextDecoder().decode(command.input.Body as Uint8Array));
      const usage = { prompt_tokens: 7, completion_tokens: 6, total_tokens: 13 };
      if (command instanceof InvokeEndpointCommand) {
        const answer = {
          id: "c1",
          object: "chat.completion",
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: REPLY }, finish_reason: "stop" }],
          usage,
        };
        return {
          $metadata: {},
          Body: new TextEncoder().encode(JSON.stringify(answer)),
          ContentType: "application/json",
        };
      }
      const base = { id: "c2", object: "chat.completion.chunk", created: 0, model: body.model };
      const sse = [
        ...REPLY.match(/.{1,4}/g)!.map((t) => ({
          ...base,
          choices: [{ index: 0, delta: { content: t }, finish_reason: null }],
        })),
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
        ...(body.stream_options?.include_usage ? [{ ...base, choices: [], usage }] : []),
      ]
        .map((e) => `data: ${JSON.stringify(e)}\n\n`)
        .join("")
        .concat("data: [DONE]\n\n");
      const bytes = new TextEncoder().encode(sse);
      // Payload parts split the events at arbitrary byte offsets, as the service does.
      const parts: ResponseStream[] = [];
      for (let i = 0; i < bytes.length; i += 7) parts.push({ PayloadPart: { Bytes: bytes.slice(i, i + 7) } });
      return {
        $metadata: {},
        Body: (async function* () {
          yield* parts;
        })(),
      };
    },
  };
  return { client, inputs, failNext: (s: number) => (failing = s) };
}

const sagemaker = sagemakerStub();
llmProviderSuite("SageMaker InvokeEndpointWithResponseStream (stubbed client)", async () => ({
  provider: new SageMakerProvider(sagemaker.client, {
    endpointName: "llama-endpoint",
    inferenceComponentName: "llama-ic",
  }),
  model: "llama",
  reply: REPLY,
  failNext: sagemaker.failNext,
}));

describe("request shapes against the SDK's types", () => {
  it("maps OpenAI messages to Converse: system blocks, merged turns, inference config", () => {
    const input: ConverseCommandInput = converseInput(
      {
        model: "m",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "one" },
          { role: "user", content: [{ type: "text", text: "two" }] },
          { role: "assistant", content: "ok" },
          { role: "user", content: "three" },
        ],
        max_tokens: 50,
        temperature: 0.2,
        top_p: 0.9,
        stop: "END",
      },
      "anthropic.claude-3-haiku-20240307-v1:0",
    );
    expect(input).toEqual({
      modelId: "anthropic.claude-3-haiku-20240307-v1:0",
      system: [{ text: "Be brief." }],
      messages: [
        { role: "user", content: [{ text: "one" }, { text: "two" }] },
        { role: "assistant", content: [{ text: "ok" }] },
        { role: "user", content: [{ text: "three" }] },
      ],
      inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ["END"] },
    });
    // The command accepts it as its input (the SDK's own type and constructor).
    expect(new ConverseStreamCommand(input).input.modelId).toBe(input.modelId);
  });

  it("sends Converse and ConverseStream commands with the deployment's model id", () => {
    expect(bedrock.inputs.length).toBeGreaterThan(0);
    for (const input of bedrock.inputs) expect(input.modelId).toBe("anthropic.claude-3-haiku-20240307-v1:0");
  });

  it("invokes the SageMaker endpoint with JSON, the inference component, and an event-stream Accept when streaming", () => {
    const plain = sagemaker.inputs.find((i) => i.Accept === "application/json");
    const streamed = sagemaker.inputs.find((i) => i.Accept === "text/event-stream");
    for (const i of [plain, streamed]) {
      expect(i).toMatchObject({
        EndpointName: "llama-endpoint",
        InferenceComponentName: "llama-ic",
        ContentType: "application/json",
      });
    }
    const body = JSON.parse(new TextDecoder().decode(streamed?.Body as Uint8Array));
    expect(body).toMatchObject({ model: "llama", stream: true });
  });
});
