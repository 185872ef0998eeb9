import {
  InvokeEndpointCommand,
  type InvokeEndpointCommandOutput,
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandOutput,
} from "@aws-sdk/client-sagemaker-runtime";
import type {
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from "../openai-types";
import { asProviderError, type LlmProvider, ProviderError } from "../provider-port";
import { sseData } from "./sse";

/** What the provider needs of a SageMakerRuntimeClient (a stub in tests). */
export interface SageMakerRuntimeLlmLike {
  send(
    command: InvokeEndpointCommand | InvokeEndpointWithResponseStreamCommand,
    opts?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
}

/**
 * A SageMaker real-time endpoint serving an OpenAI-compatible container (vLLM, LMI or TGI
 * with the Messages API): the chat request is the endpoint's JSON body; streaming uses
 * InvokeEndpointWithResponseStream, whose payload parts carry the container's server-sent events.
 */
export class SageMakerProvider implements LlmProvider {
  readonly kind = "sagemaker";
  constructor(
    private readonly client: SageMakerRuntimeLlmLike,
    private readonly opts: { endpointName: string; inferenceComponentName?: string },
  ) {}

  private target() {
    return {
      EndpointName: this.opts.endpointName,
      ContentType: "application/json",
      Accept: "application/json",
      ...(this.opts.inferenceComponentName
        ? { InferenceComponentName: this.opts.inferenceComponentName }
        : {}),
    };
  }

  private async invoke<T>(body: unknown, signal: AbortSignal): Promise<T> {
    let out: InvokeEndpointCommandOutput;
    try {
      out = (await this.client.send(
        new InvokeEndpointCommand({ ...this.target(), Body: new TextEncoder().encode(JSON.stringify(body)) }),
        { abortSignal: signal },
      )) as InvokeEndpointCommandOutput;
    } catch (e) {
      throw asProviderError(e, signal);
    }
    try {
      return JSON.parse(new TextDecoder().decode(out.Body)) as T;
    } catch {
      throw new ProviderError(502, "the endpoint answered a body that is not JSON");
    }
  }

  chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    return this.invoke<ChatCompletion>({ ...request, stream: false }, signal);
  }

  embeddings(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResponse> {
    return this.invoke<EmbeddingResponse>(request, signal);
  }

  async *chatStream(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk> {
    let out: InvokeEndpointWithResponseStreamCommandOutput;
    try {
      out = (await this.client.send(
        new InvokeEndpointWithResponseStreamCommand({
          ...this.target(),
          Accept: "text/event-stream",
          Body: new TextEncoder().encode(JSON.stringify({ ...request, stream: true })),
        }),
        { abortSignal: signal },
      )) as InvokeEndpointWithResponseStreamCommandOutput;
    } catch (e) {
      throw asProviderError(e, signal);
    }
    async function* bytes(): AsyncGenerator<Uint8Array> {
      for await (const part of out.Body ?? []) {
        if (part.PayloadPart?.Bytes) yield part.PayloadPart.Bytes;
        const err = part.ModelStreamError ?? part.InternalStreamFailure;
        if (err) throw err;
      }
    }
    try {
      for await (const data of sseData(bytes())) yield JSON.parse(data) as ChatChunk;
    } catch (e) {
      throw asProviderError(e, signal);
    }
  }
}
