import { posix } from "node:path";
import type { AuditLog } from "@keel/audit";
import { badInput, ServingError } from "../errors";
import type { ModelPublisher, PublishInput } from "../ports";
import { sha256Hex } from "./approved-bytes";

/** Where the published repository lives: a directory locally, the `models/` S3 prefix in AWS (an ArtifactStore). */
export interface RepositoryStore {
  put(path: string, body: Uint8Array): Promise<void>;
  getBytes(path: string): Promise<Buffer>;
  exists(path: string): Promise<boolean>;
}

/** The config.pbtxt written for a model the repository does not have yet: every published version stays loadable. */
export const PUBLISHED_MODEL_CONFIG = 'platform: "onnxruntime_onnx"\nversion_policy: { all { } }\n';

const safeSegment = /^[A-Za-z0-9_.-]+$/;

/**
 * Publishes an approved version into a Triton-layout model repository
 * (`<model>/config.pbtxt`, `<model>/<version>/<files>`): every file the approval pinned is
 * read from the version's source, checked against its pinned SHA-256, copied, read back
 * and hashed again. Any difference fails loudly (and is audited): what Triton loads is
 * exactly what was approved.
 */
export class RepositoryPublisher implements ModelPublisher {
  constructor(
    private readonly source: { getBytes(path: string): Promise<Buffer> },
    /** The version's files' directory in the source store (from the registry's storage location). */
    private readonly sourcePath: (model: string, version: string) => Promise<string>,
    private readonly target: RepositoryStore,
    private readonly audit: AuditLog,
  ) {}

  async publish(input: PublishInput): Promise<void> {
    const { model, version, digests } = input;
    if (!safeSegment.test(model) || model.startsWith(".") || !/^\d+$/.test(version))
      throw badInput(
        `model '${model}' version ${version} cannot be published to a Triton repository (name or version)`,
      );
    const files = Object.keys(digests);
    if (files.length === 0) {
      // A source outside Keel's artifact store pins nothing: there is nothing approved to copy,
      // and serving refuses to load such a version for production (no digest matches).
      await this.audit.append({
        action: "serving.model.publish_skipped",
        resource: `model:${model}/${version}`,
        state: { reason: "the approval pinned no files", sourceUri: input.sourceUri },
      });
      return;
    }
    const root = await this.sourcePath(model, version);
    const published: Record<string, string> = {};
    for (const rel of files) {
      const clean = posix.normalize(rel);
      if (clean.startsWith("..") || posix.isAbsolute(clean))
        throw badInput(`refusing to publish file '${rel}'`);
      const expected = digests[rel].toLowerCase();
      const bytes = await this.source.getBytes(clean === "." ? root : posix.join(root, clean));
      if (sha256Hex(bytes) !== expected)
        await this.fail(input, `source file '${rel}' no longer matches its approved SHA-256 ${expected}`);
      const dest = `${model}/${version}/${clean === "." ? posix.basename(root) : clean}`;
      await this.target.put(dest, bytes);
      const copy = sha256Hex(await this.target.getBytes(dest));
      if (copy !== expected)
        await this.fail(
          input,
          `the published copy '${dest}' has SHA-256 ${copy}, not the approved ${expected}`,
        );
      published[dest] = copy;
    }
    if (!(await this.target.exists(`${model}/config.pbtxt`)))
      await this.target.put(`${model}/config.pbtxt`, Buffer.from(PUBLISHED_MODEL_CONFIG));
    await this.audit.append({
      action: "serving.model.publish",
      resource: `model:${model}/${version}`,
      state: { files: published, sourceUri: input.sourceUri },
    });
  }

  private async fail(input: PublishInput, why: string): Promise<never> {
    await this.audit.append({
      action: "serving.publish_failed",
      resource: `model:${input.model}/${input.version}`,
      state: { reason: why },
    });
    throw new ServingError(
      "INTERNAL_ERROR",
      `publishing model '${input.model}' version ${input.version} failed: ${why}`,
    );
  }
}
