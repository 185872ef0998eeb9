import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { LlmError } from "./errors";
import type { LlmProvider } from "./provider-port";
import { BedrockProvider } from "./providers/bedrock";
import { OpenAIHttpProvider } from "./providers/openai-http";
import { SageMakerProvider } from "./providers/sagemaker";
import type { Deployment } from "./routes";

/** Builds (and keeps, per deployment settings) the provider a deployment names. */
export class ProviderFactory {
  private readonly built = new Map<string, LlmProvider>();
  constructor(
    private readonly opts: {
      region: string;
      env?: Record<string, string | undefined>;
      bedrock?: (region: string) => BedrockProvider;
      sagemaker?: (region: string, endpoint: string, component?: string) => SageMakerProvider;
    },
  ) {}

  provider(d: Deployment): LlmProvider {
    const key = JSON.stringify([d.provider, d.baseURL, d.apiKeyEnv, d.azureApiVersion, d.endpoint, d.region]);
    let p = this.built.get(key);
    if (!p) {
      p = this.build(d);
      this.built.set(key, p);
    }
    return p;
  }

  private build(d: Deployment): LlmProvider {
    const region = d.region ?? this.opts.region;
    switch (d.provider) {
      case "openai": {
        if (!d.baseURL) throw new LlmError("invalid", `deployment ${d.id}: an openai provider needs baseURL`);
        const env = this.opts.env ?? process.env;
        return new OpenAIHttpProvider({
          baseURL: d.baseURL,
          apiKey: d.apiKeyEnv ? env[d.apiKeyEnv] : undefined,
          azureApiVersion: d.azureApiVersion,
        });
      }
      case "bedrock":
        return this.opts.bedrock?.(region) ?? new BedrockProvider(new BedrockRuntimeClient({ region }));
      case "sagemaker": {
        if (!d.endpoint)
          throw new LlmError("invalid", `deployment ${d.id}: a sagemaker provider needs endpoint`);
        return (
          this.opts.sagemaker?.(region, d.endpoint, d.inferenceComponent) ??
          new SageMakerProvider(new SageMakerRuntimeClient({ region }), {
            endpointName: d.endpoint,
            inferenceComponentName: d.inferenceComponent,
          })
        );
      }
    }
  }
}
