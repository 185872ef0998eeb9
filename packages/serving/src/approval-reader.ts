import type { MetadataStore } from "@keel/metadata";
import { sha256Hex } from "./approved-bytes";
import type { ApprovalReader, ProductionApproval } from "./ports";

/** The registry calls the adapter uses (structurally: the registry's RegistryService). */
export interface ApprovalSource {
  /** The registry's own answer, once it pins digests at approval (preferred when present). */
  productionApproval?(name: string, version: string): Promise<ProductionApproval | undefined>;
  listPromotions(
    name: string,
    status?: "APPROVED",
  ): Promise<
    Array<{
      id: string;
      version: number;
      target: { kind: "stage"; stage: string } | { kind: "alias"; alias: string };
      reviewer?: string;
      reviewedAt?: number;
      digests?: Record<string, string>;
    }>
  >;
  resolve(name: string, ref: string): Promise<{ storageLocation: string }>;
}

const MLFLOW_ARTIFACTS = "mlflow-artifacts:/";

/**
 * An ApprovalReader over the registry. When the registry answers `productionApproval` itself
 * (with the digests it pinned at approval), that answer is used as is. Until then, an APPROVED
 * promotion to Production counts, and its digests are pinned by serving the first time it
 * reads the approval (before the first production deployment can take the version), kept
 * under `SERVING#PIN` in the metadata store so later reads compare against that first view.
 */
export function registryApprovalReader(
  registry: ApprovalSource,
  artifacts: {
    list(prefix: string): Promise<Array<{ path: string; isDir: boolean }>>;
    getBytes(p: string): Promise<Buffer>;
  },
  store: MetadataStore,
): ApprovalReader {
  if (typeof registry.productionApproval === "function") {
    const own = registry.productionApproval.bind(registry);
    return { productionApproval: (m, v) => own(m, v) };
  }
  const hashTree = async (root: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    const walk = async (dir: string) => {
      for (const e of await artifacts.list(dir)) {
        if (e.isDir) await walk(e.path);
        else out[e.path.slice(root.length + 1)] = sha256Hex(await artifacts.getBytes(e.path));
      }
    };
    await walk(root);
    return out;
  };
  return {
    async productionApproval(model, version) {
      const promotions = await registry.listPromotions(model, "APPROVED").catch(() => []);
      const p = promotions.find(
        (r) => String(r.version) === version && r.target.kind === "stage" && r.target.stage === "Production",
      );
      if (!p) return undefined;
      const { storageLocation: sourceUri } = await registry.resolve(model, version);
      const base = { approvedBy: p.reviewer ?? "", approvedAt: p.reviewedAt ?? 0, sourceUri };
      if (p.digests) return { ...base, digests: p.digests };
      const key = { pk: `SERVING#PIN#${p.id}`, sk: "DIGESTS" };
      const pinned = await store.get(key);
      if (pinned) return { ...base, digests: pinned.digests as Record<string, string> };
      const source = sourceUri.startsWith(MLFLOW_ARTIFACTS)
        ? sourceUri.slice(MLFLOW_ARTIFACTS.length).replace(/^\/+|\/+$/g, "")
        : undefined;
      const digests = source ? await hashTree(source) : {};
      await store.put({ ...key, digests }, { condition: { exists: false } }).catch(() => undefined);
      const kept = await store.get(key);
      return { ...base, digests: (kept?.digests as Record<string, string> | undefined) ?? digests };
    },
  };
}
