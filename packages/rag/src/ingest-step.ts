import { resolve } from "node:path";
import type { BuiltinStepKind } from "@keel/pipelines";
import { z } from "zod";
import { INGESTIBLE, listFolder, readFolder, readSources, sourceDocument } from "./folder-source";
import type { RagService } from "./service";

const input = z
  .object({
    /** The knowledge base to ingest into. */
    kb: z.string().min(1),
    /** A folder on the machine that runs the step (the project's own files), or... */
    path: z.string().min(1).optional(),
    /** ...a prefix in the artifact store (S3 in AWS): every Markdown, text, HTML and PDF file under it. */
    artifactPrefix: z.string().min(1).optional(),
    /** Prefix of the documents' URIs (default: the artifact prefix, or none for a folder). */
    uriPrefix: z.string().optional(),
    /** Documents under the URI prefix that are gone from the source leave the index (default true). */
    prune: z.boolean().default(true),
  })
  .strict()
  .refine(
    (i) => (i.path === undefined) !== (i.artifactPrefix === undefined),
    "give exactly one of path, artifactPrefix",
  );

/** The URI prefix of the source's documents: the one given, else the artifact prefix, else none. */
function sourcePrefix(i: z.output<typeof input>): string {
  if (i.uriPrefix !== undefined) return i.uriPrefix;
  return i.artifactPrefix ? `${i.artifactPrefix.replace(/\/+$/, "")}/` : "";
}

/**
 * The `rag.ingest` built-in step: syncs a knowledge base with a folder or an artifact-store
 * prefix (changed documents re-embedded, unchanged skipped, deleted ones removed). It runs in
 * process locally and in the pipeline-step Lambda in AWS; it is idempotent (content hashes).
 */
export function ragIngestStep(
  service: RagService | (() => RagService),
): BuiltinStepKind<z.output<typeof input>> {
  const rag = typeof service === "function" ? service : () => service;
  return {
    name: "rag.ingest",
    description:
      "Ingest a folder or artifact prefix of Markdown/text/HTML/PDF into a knowledge base (incremental)",
    input,
    async run(i, ctx) {
      let read: Awaited<ReturnType<typeof readFolder>>;
      if (i.path !== undefined) {
        const dir = resolve(i.path);
        read = await readFolder(dir, await listFolder(dir), sourcePrefix(i));
      } else {
        const root = (i.artifactPrefix as string).replace(/\/+$/, "");
        const prefix = sourcePrefix(i);
        const files: string[] = [];
        const walk = async (dir: string): Promise<void> => {
          for (const f of await ctx.artifacts.list(dir)) {
            if (f.isDir) await walk(f.path);
            else if (INGESTIBLE.test(f.path)) files.push(f.path);
          }
        };
        await walk(root);
        const uriOf = (path: string) => prefix + path.slice(root.length).replace(/^\/+/, "");
        read = await readSources(files, uriOf, async (path) =>
          sourceDocument(uriOf(path), await ctx.artifacts.getBytes(path)),
        );
      }
      const { documents: docs, failed } = read;
      for (const f of failed) ctx.log(`skipped ${f.uri}: ${f.error}`);
      const prunePrefix = i.prune ? sourcePrefix(i) : undefined;
      const r = await rag().ingest(i.kb, docs, {
        prunePrefix,
        // A file that failed to read is still in the source: its last good version stays.
        present: failed.map((f) => f.uri),
        onProgress: (p) => ctx.log(`${p.phase}: ${p.done}/${p.total} documents, ${p.chunks} chunks`),
      });
      return {
        kb: i.kb,
        documents: docs.length,
        added: r.added.length,
        updated: r.updated.length,
        unchanged: r.unchanged,
        deleted: r.deleted.length,
        chunks: r.chunks,
        failed: failed.map((f) => ({ uri: f.uri, error: f.error })),
      };
    },
  };
}
