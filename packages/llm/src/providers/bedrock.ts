import {
  type ContentBlock,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  ConverseStreamCommand,
  type ConverseStreamCommandOutput,
  type Message,
  type SystemContentBlock,
} from "@aws-sdk/client-bedrock-runtime";
import { type ChatChunk, type ChatCompletion, type ChatRequest, chunkOf, contentText } from "../openai-types";
import { asProviderError, type LlmProvider } from "../provider-port";

/** What the provider needs of a BedrockRuntimeClient (a stub in tests: AWS cannot be reached here). */
export interface BedrockRuntimeLike {
  send(
    command: ConverseCommand | ConverseStreamCommand,
    opts?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
}

const STOP: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
};

/** OpenAI chat messages as Converse's system blocks and user/assistant turns (consecutive roles merged). */
export function converseInput(request: ChatRequest, modelId: string): ConverseCommandInput {
  const system: SystemContentBlock[] = [];
  const messages: Message[] = [];
  for (const m of request.messages) {
    const text = contentText(m.content);
    if (m.role === "system" || m.role === "developer") {
      system.push({ text });
      continue;
    }
    const role = m.role === "assistant" ? "assistant" : "user";
    const last = messages[messages.length - 1];
    const block: ContentBlock = { text };
    if (last && last.role === role) last.content = [...(last.content ?? []), block];
    else messages.push({ role, content: [block] });
  }
  const stop = request.stop == null ? undefined : Array.isArray(request.stop) ? request.stop : [request.stop];
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  return {
    modelId,
    messages,
    ...(system.length ? { system } : {}),
    inferenceConfig: {
      ...(maxTokens != null ? { maxTokens } : {}),
      ...(request.temperature != null ? { temperature: request.temperature } : {}),
      ...(request.top_p != null ? { topP: request.top_p } : {}),
      ...(stop ? { stopSequences: stop } : {}),
    },
  };
}

/** Amazon Bedrock through the Converse and ConverseStream APIs (any model Converse supports). */
export class BedrockProvider implements LlmProvider {
  readonly kind = "bedrock";
  constructor(private readonly client: BedrockRuntimeLike) {}

  async chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    let out: ConverseCommandOutput;
    try {
      out = (await this.client.send(new ConverseCommand(converseInput(request, request.model)), {
        abortSignal: signal,
      })) as ConverseCommandOutput;
    } catch (e) {
      throw asProviderError(e, signal);
    }
    const text = (out.output?.message?.content ?? []).map((b) => b.text ?? "").join("");
    const u = out.usage;
    return {
      id: `chatcmpl-${out.$metadata?.requestId ?? Date.now().toString(36)}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: text },
          finish_reason: STOP[out.stopReason ?? "end_turn"] ?? "stop",
        },
      ],
      ...(u
        ? {
            usage: {
              prompt_tokens: u.inputTokens ?? 0,
              completion_tokens: u.outputTokens ?? 0,
              total_tokens: u.totalTokens ?? (u.inputTokens ?? 0) + (u.outputTokens ?? 0),
            },
          }
        : {}),
    };
  }

  async *chatStream(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk> {
    let out: ConverseStreamCommandOutput;
    try {
      out = (await this.client.send(new ConverseStreamCommand(converseInput(request, request.model)), {
        abortSignal: signal,
      })) as ConverseStreamCommandOutput;
    } catch (e) {
      throw asProviderError(e, signal);
    }
    const base = {
      id: `chatcmpl-${out.$metadata?.requestId ?? Date.now().toString(36)}`,
      created: Math.floor(Date.now() / 1000),
      model: request.model,
    };
    try {
      for await (const ev of out.stream ?? []) {
        if (ev.messageStart) yield chunkOf(base, { role: "assistant", content: "" });
        else if (ev.contentBlockDelta?.delta?.text !== undefined)
          yield chunkOf(base, { content: ev.contentBlockDelta.delta.text });
        else if (ev.messageStop)
          yield chunkOf(base, {}, STOP[ev.messageStop.stopReason ?? "end_turn"] ?? "stop");
        else if (ev.metadata?.usage && request.stream_options?.include_usage) {
          const u = ev.metadata.usage;
          yield {
            ...base,
            object: "chat.completion.chunk",
            choices: [],
            usage: {
              prompt_tokens: u.inputTokens ?? 0,
              completion_tokens: u.outputTokens ?? 0,
              total_tokens: u.totalTokens ?? (u.inputTokens ?? 0) + (u.outputTokens ?? 0),
            },
          };
        } else {
          const err = ev.internalServerException ?? ev.modelStreamErrorException ?? ev.throttlingException;
          if (err) throw err;
        }
      }
    } catch (e) {
      throw asProviderError(e, signal);
    }
  }
}
