import type { ModelServer } from "../../model-server/model-server";
import type { InferRequest, InferResponse, ModelMetadata } from "../../protocol/protocol";
import { withDeadline } from "./deadline";
import type { InferenceBackend } from "./inference-backend";

/**
 * A model version on the model server in this process (`keel dev`). `ensureLoaded` brings the
 * version up on first use (e.g. from a registry artifact) when the repository lacks it.
 */
export class InProcessBackend implements InferenceBackend {
  readonly target: string;
  private loading?: Promise<void>;

  constructor(
    private readonly server: ModelServer,
    private readonly model: string,
    private readonly version: string | undefined,
    private readonly ensureLoaded?: () => Promise<void>,
    /** Checks the loaded version's model-file digest before each use (production: approved bytes only). */
    private readonly verify?: (digest: string | undefined) => Promise<void>,
  ) {
    this.target = `local model '${model}'${version ? ` version ${version}` : ""}`;
  }

  private async loaded(): Promise<void> {
    if (!this.server.has(this.model, this.version) && this.ensureLoaded) {
      this.loading ??= this.ensureLoaded().finally(() => {
        this.loading = undefined;
      });
      await this.loading;
    }
    if (this.verify && this.version !== undefined)
      await this.verify(this.server.digest(this.model, this.version));
  }

  async infer(request: InferRequest, opts: { timeoutMs?: number } = {}): Promise<InferResponse> {
    await this.loaded();
    const run = this.server.infer(this.model, this.version, request);
    if (!opts.timeoutMs) return run;
    return withDeadline(run, opts.timeoutMs, this.target);
  }

  async metadata(): Promise<ModelMetadata> {
    await this.loaded();
    return this.server.metadata(this.model, this.version);
  }

  async ready(): Promise<boolean> {
    try {
      await this.loaded();
      return this.server.isReady(this.model, this.version);
    } catch {
      return false;
    }
  }
}
