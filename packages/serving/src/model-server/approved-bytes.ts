import { createHash } from "node:crypto";
import { posix } from "node:path";
import type { AuditLog } from "@keel/audit";
import type { Clock, Logger } from "@keel/core";
import { ServingError } from "../errors";
import type { ApprovalReader, ModelResolver, ProductionApproval } from "../ports";

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

const MLFLOW_ARTIFACTS = "mlflow-artifacts:/";
/** How long a refusal is remembered before the registry is asked again (a re-approval then takes effect). */
const REFUSAL_TTL_MS = 5_000;

/**
 * The pinned digest of the model file a version serves, found in its approval's digests
 * (keyed by path relative to the version's source): the artifact path relative to the source
 * when the source names Keel's artifact store, else the file name.
 */
export function pinnedDigest(approval: ProductionApproval, artifactPath?: string): string | undefined {
  const d = approval.digests;
  const candidates: string[] = [];
  if (artifactPath && approval.sourceUri.startsWith(MLFLOW_ARTIFACTS)) {
    const source = approval.sourceUri.slice(MLFLOW_ARTIFACTS.length).replace(/^\/+|\/+$/g, "");
    if (artifactPath.startsWith(`${source}/`)) candidates.push(artifactPath.slice(source.length + 1));
    if (artifactPath === source) candidates.push(posix.basename(source), "");
  }
  candidates.push(posix.basename(artifactPath ?? "model.onnx"), "model.onnx");
  for (const c of candidates) if (d[c] !== undefined) return d[c].toLowerCase();
  return undefined;
}

/**
 * Production serves only approved bytes: the SHA-256 of the model file a version was loaded
 * from (computed once, at load) must equal the digest its approval pinned. A verified
 * (version, digest) pair is cached, so the per-request cost is one map lookup; a mismatch
 * answers 503 and is audited once per loaded content as `serving.digest_mismatch`.
 */
export class ApprovedBytes {
  private readonly verified = new Set<string>();
  private readonly refused = new Map<string, { error: ServingError; at: number }>();
  private readonly audited = new Set<string>();

  constructor(
    private readonly approvals: ApprovalReader,
    private readonly resolver: ModelResolver | undefined,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Resolves when `digest` (of the loaded model file) is what the version's approval pinned; throws 503 otherwise. */
  async check(deployment: string, model: string, version: string, digest: string | undefined): Promise<void> {
    const k = `${model}\0${version}\0${digest}`;
    if (this.verified.has(k)) return;
    const hit = this.refused.get(k);
    if (hit && this.clock.now() - hit.at < REFUSAL_TTL_MS) throw hit.error;
    const problem = await this.verify(model, version, digest);
    if (!problem) {
      this.verified.add(k);
      this.refused.delete(k);
      return;
    }
    const error = new ServingError(
      "TEMPORARILY_UNAVAILABLE",
      `model '${model}' version ${version} is not served to production deployment '${deployment}': ${problem.message}`,
    );
    this.refused.set(k, { error, at: this.clock.now() });
    if (!this.audited.has(k)) {
      this.audited.add(k);
      this.log.error("refusing to serve unapproved model bytes", { deployment, model, version, digest });
      await this.audit.append({
        action: "serving.digest_mismatch",
        resource: `model:${model}/${version}`,
        state: {
          deployment,
          expected: problem.expected ?? null,
          actual: digest ?? null,
          reason: problem.message,
        },
      });
    }
    throw error;
  }

  private async verify(
    model: string,
    version: string,
    digest: string | undefined,
  ): Promise<{ message: string; expected?: string } | undefined> {
    const approval = await this.approvals.productionApproval(model, version);
    if (!approval) return { message: "it has no approved promotion to Production" };
    const artifactPath = await this.resolver
      ?.resolve(model, version)
      .then((r) => r.artifactPath)
      .catch(() => undefined);
    const expected = pinnedDigest(approval, artifactPath);
    if (!expected) return { message: "its approval pinned no digest for the model file" };
    if (!digest) return { message: "the loaded model file's digest is unknown", expected };
    if (digest !== expected)
      return {
        message: `the model file's SHA-256 ${digest} differs from the ${expected} approved by ${approval.approvedBy} (the bytes changed after approval)`,
        expected,
      };
    return undefined;
  }
}
