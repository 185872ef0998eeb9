import dagre from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import { navigate } from "./router";

export interface GraphNode {
  id: string;
  label: string;
  sub?: string;
  status?: string;
  href?: string;
}
export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
}

const W = 170;
const H = 46;
const FILL: Record<string, string> = {
  SUCCEEDED: "#dafbe1",
  FAILED: "#ffebe9",
  RUNNING: "#fff8c5",
  PENDING: "#f0f3f6",
  SKIPPED: "#eaeef2",
  CACHED: "#ddf4ff",
};

/** A directed graph laid out by dagre (left to right), drawn as SVG; nodes with an href are links. */
export function Graph(props: {
  nodes: GraphNode[];
  edges: GraphEdge[];
  title: string;
  rankdir?: "LR" | "TB";
}) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: props.rankdir ?? "LR", nodesep: 18, ranksep: 48, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of props.nodes) g.setNode(n.id, { width: W, height: H });
    for (const e of props.edges) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
    dagre.layout(g);
    const size = g.graph() as { width?: number; height?: number };
    return {
      width: size.width ?? 0,
      height: size.height ?? 0,
      pos: new Map(props.nodes.map((n) => [n.id, g.node(n.id) as { x: number; y: number }])),
      edges: g.edges().map((e) => (g.edge(e) as { points: Array<{ x: number; y: number }> }).points),
    };
  }, [props.nodes.map((n) => n.id).join(), props.edges.map((e) => `${e.from}>${e.to}`).join()]);
  return (
    <div class="dag">
      <svg
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        width={layout.width}
        role="img"
        aria-label={props.title}
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="#8c959f" />
          </marker>
        </defs>
        {layout.edges.map((pts, i) => (
          <polyline
            key={i}
            points={pts.map((p) => `${p.x},${p.y}`).join(" ")}
            fill="none"
            stroke="#8c959f"
            stroke-width="1.5"
            marker-end="url(#arrow)"
          />
        ))}
        {props.nodes.map((n) => {
          const p = layout.pos.get(n.id);
          if (!p) return null;
          const box = (
            <g transform={`translate(${p.x - W / 2},${p.y - H / 2})`} data-node={n.id} data-status={n.status}>
              <rect width={W} height={H} rx="6" fill={FILL[n.status ?? ""] ?? "#fff"} stroke="#57606a" />
              <text x="8" y="18" font-size="13" font-weight="600">
                {n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label}
              </text>
              <text x="8" y="36" font-size="11" fill="#57606a">
                {n.status ?? n.sub ?? ""}
              </text>
              <title>{`${n.label}${n.status ? `: ${n.status}` : ""}`}</title>
            </g>
          );
          return n.href ? (
            <a
              key={n.id}
              href={n.href}
              onClick={(e) => {
                e.preventDefault();
                navigate(n.href as string);
              }}
            >
              {box}
            </a>
          ) : (
            <g key={n.id}>{box}</g>
          );
        })}
      </svg>
    </div>
  );
}
