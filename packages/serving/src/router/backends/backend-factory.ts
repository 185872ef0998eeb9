import { SageMakerRuntimeClient } from "@aws-sdk/client-sagemaker-runtime";
import { badInput, missing } from "../../errors";
import type { ModelServer } from "../../model-server/model-server";
import type { ModelResolver } from "../../ports";
import { InProcessBackend } from "./in-process-backend";
import type { BackendSpec, InferenceBackend } from "./inference-backend";
import { KServeHttpBackend } from "./kserve-http-backend";
import { SageMakerBackend, type SageMakerRuntimeLike } from "./sagemaker-backend";

export interface BackendContext {
  /** The in-process model server (`keel dev`); absent in the router Lambda. */
  server?: ModelServer;
  /** Loads registry versions the repository lacks into the in-process server. */
  resolver?: ModelResolver;
  artifacts?: { getBytes(path: string): Promise<Buffer> };
  /** SageMaker runtime client per region; defaults to the SDK client. */
  sagemaker?: (region?: string) => SageMakerRuntimeLike;
  /** Where "local" versions go when there is no model server here (Triton or SageMaker in AWS). */
  defaultBackend?: BackendSpec;
}

/** The one place that chooses an InferenceBackend adapter from a deployment's backend spec. */
export function createBackend(
  spec: BackendSpec,
  model: string,
  version: string,
  ctx: BackendContext,
  verify?: (digest: string | undefined) => Promise<void>,
): InferenceBackend {
  switch (spec.type) {
    case "named":
      throw badInput(`backend '${spec.name}' must be resolved to its registered spec before use`);
    case "kserve":
      return new KServeHttpBackend(spec.url, spec.model ?? model, spec.version ?? version);
    case "sagemaker": {
      const client =
        ctx.sagemaker?.(spec.region) ??
        new SageMakerRuntimeClient(spec.region ? { region: spec.region } : {});
      return new SageMakerBackend(client, spec.endpoint, spec.variant);
    }
    case "local": {
      const server = ctx.server;
      if (!server && ctx.defaultBackend && ctx.defaultBackend.type !== "local")
        return createBackend(ctx.defaultBackend, model, version, ctx);
      if (!server)
        throw missing(
          `no in-process model server here for model '${model}' version ${version}; give the version a kserve or sagemaker backend`,
        );
      const { resolver, artifacts } = ctx;
      return new InProcessBackend(
        server,
        model,
        version,
        async () => {
          if (!resolver || !artifacts) {
            throw missing(
              `model '${model}' version ${version} is not in the model repository and no model registry is connected`,
            );
          }
          const resolved = await resolver.resolve(model, version);
          await server.loadBytes(model, resolved.version, await artifacts.getBytes(resolved.artifactPath));
        },
        verify,
      );
    }
  }
}
