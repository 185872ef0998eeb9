import type { PromotionRecord } from "./governance";
import type { LineageGraph } from "./lineage";
import type { DeploymentRef, RunRecord } from "./ports";
import type { ModelVersionView } from "./records";

/**
 * A model card as data: titled sections of paragraphs and tables. One structure, two
 * renderings (Markdown for review in Git and terminals, HTML for browsers), so both always
 * say the same thing.
 */
export interface CardSection {
  heading: string;
  paragraphs?: string[];
  table?: { columns: string[]; rows: string[][] };
}

export interface CardDocument {
  title: string;
  sections: CardSection[];
}

export interface CardInput {
  version: ModelVersionView;
  run?: RunRecord;
  lineage: LineageGraph;
  promotions: PromotionRecord[];
  deployments: DeploymentRef[];
}

const iso = (t: number | undefined) => (t ? new Date(t).toISOString() : "");

/** Assembles the card from the version, its run, its lineage and its approvals. */
export function buildCard(input: CardInput): CardDocument {
  const { version: v, run } = input;
  const sections: CardSection[] = [
    {
      heading: "Summary",
      table: {
        columns: ["field", "value"],
        rows: [
          ["model", v.name],
          ["version", String(v.version)],
          ["stage", v.currentStage],
          ["aliases", v.aliases.join(", ")],
          ["registered by", v.userId],
          ["registered at", iso(v.creationTimestamp)],
          ["source", v.source],
          ["source run", v.runId],
          ["description", v.description],
        ],
      },
    },
    {
      heading: "Intended use",
      paragraphs: [v.intendedUse?.trim() || "Not documented yet."],
    },
    {
      heading: "Limitations",
      paragraphs: [v.limitations?.trim() || "Not documented yet."],
    },
  ];
  if (run) {
    const params = run.run.data.params ?? [];
    const metrics = run.run.data.metrics ?? [];
    sections.push({
      heading: "Training parameters",
      ...(params.length
        ? { table: { columns: ["parameter", "value"], rows: params.map((p) => [p.key, p.value]) } }
        : { paragraphs: ["The run logged no parameters."] }),
    });
    sections.push({
      heading: "Evaluation metrics",
      ...(metrics.length
        ? {
            table: {
              columns: ["metric", "value", "step"],
              rows: metrics.map((m) => [m.key, String(m.value), String(m.step ?? 0)]),
            },
          }
        : { paragraphs: ["The run logged no metrics."] }),
    });
  } else {
    sections.push({ heading: "Training run", paragraphs: ["The source run is not available."] });
  }
  const dataNodes = input.lineage.nodes.filter((n) =>
    ["dataset", "feature_view", "pipeline_run"].includes(n.type),
  );
  sections.push({
    heading: "Data lineage",
    ...(dataNodes.length
      ? {
          table: {
            columns: ["kind", "name", "details"],
            rows: dataNodes.map((n) => [
              n.type,
              n.label,
              Object.entries(n.attributes)
                .filter(([, x]) => x !== undefined && x !== "")
                .map(([k, x]) => `${k}=${typeof x === "string" ? x : JSON.stringify(x)}`)
                .join("; "),
            ]),
          },
        }
      : { paragraphs: ["No datasets, feature views or pipeline runs were recorded for the source run."] }),
  });
  sections.push({
    heading: "Approvals",
    ...(input.promotions.length
      ? {
          table: {
            columns: ["request", "target", "status", "requested by", "reviewed by", "checks at approval"],
            rows: input.promotions.map((p) => [
              p.id,
              p.target.kind === "stage" ? `stage ${p.target.stage}` : `alias ${p.target.alias}`,
              p.status,
              `${p.requester} (${iso(p.requestedAt)})`,
              p.reviewer ? `${p.reviewer} (${iso(p.reviewedAt)})` : "",
              (p.checksAtApproval ?? []).map((c) => `${c.check}: ${c.passed ? "pass" : "fail"}`).join("; "),
            ]),
          },
        }
      : { paragraphs: ["No promotion has been requested."] }),
  });
  sections.push({
    heading: "Deployments",
    ...(input.deployments.length
      ? {
          table: {
            columns: ["deployment", "role", "traffic"],
            rows: input.deployments.map((d) => [
              d.name,
              d.role ?? "",
              d.traffic === undefined ? "" : String(d.traffic),
            ]),
          },
        }
      : { paragraphs: ["Not deployed."] }),
  });
  return { title: `Model card: ${v.name} version ${v.version}`, sections };
}

const mdCell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

export function renderMarkdown(doc: CardDocument): string {
  const out = [`# ${doc.title}`, ""];
  for (const s of doc.sections) {
    out.push(`## ${s.heading}`, "");
    for (const p of s.paragraphs ?? []) out.push(p, "");
    if (s.table) {
      out.push(
        `| ${s.table.columns.map(mdCell).join(" | ")} |`,
        `|${s.table.columns.map(() => " --- |").join("")}`,
      );
      for (const r of s.table.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
      out.push("");
    }
  }
  return out.join("\n");
}

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

export function renderHtml(doc: CardDocument): string {
  const body: string[] = [`<h1>${esc(doc.title)}</h1>`];
  for (const s of doc.sections) {
    body.push(`<h2>${esc(s.heading)}</h2>`);
    for (const p of s.paragraphs ?? []) body.push(`<p>${esc(p)}</p>`);
    if (s.table) {
      body.push(
        "<table>",
        `<thead><tr>${s.table.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead>`,
        "<tbody>",
        ...s.table.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`),
        "</tbody></table>",
      );
    }
  }
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(doc.title)}</title>`,
    "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}table{border-collapse:collapse}" +
      "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}</style>",
    "</head><body>",
    ...body,
    "</body></html>",
    "",
  ].join("\n");
}
