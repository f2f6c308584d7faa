import { JSDOM } from "jsdom";
import type { Mermaid } from "mermaid";

/** A flowchart as Mermaid's own parser reads it, labels as they render (entity codes decoded, one entry per line). */
export interface Flowchart {
  /** Each node's label lines, its shape (`square`, `cylinder`, `circle`...) and its classes. */
  readonly nodes: ReadonlyMap<string, { readonly lines: readonly string[]; readonly shape: string; readonly classes: readonly string[] }>;
  readonly edges: readonly { readonly start: string; readonly end: string; readonly text: string; readonly stroke: string }[];
  /** Each subgraph's title lines and what it holds directly: nodes and other subgraphs, by id. */
  readonly subgraphs: ReadonlyMap<string, { readonly lines: readonly string[]; readonly members: readonly string[] }>;
}

/** What Mermaid's flowchart database hands out (mermaid/dist/diagrams/flowchart/flowDb). */
interface FlowDB {
  getVertices(): Map<string, { id: string; text?: string; type?: string; classes: string[] }>;
  getEdges(): { start: string; end: string; text?: string; stroke?: string }[];
  getSubGraphs(): { id: string; title: string; nodes: string[] }[];
}

let loaded: Promise<Mermaid> | undefined;

/**
 * Mermaid under a DOM of jsdom's: DOMPurify, which Mermaid cleans labels
 * with, takes `window` once, when it is first imported. The globals are
 * removed again right after, so nothing else in the test sees a browser.
 */
function mermaid(): Promise<Mermaid> {
  loaded ??= (async () => {
    const { window } = new JSDOM("");
    Object.assign(globalThis, { window, document: window.document });
    try {
      return (await import("mermaid")).default;
    } finally {
      Reflect.deleteProperty(globalThis, "window");
      Reflect.deleteProperty(globalThis, "document");
    }
  })();
  return loaded;
}

/** Parses `text` with Mermaid's real flowchart parser; throws Mermaid's own error on a syntax error. */
export async function parseFlowchart(text: string): Promise<Flowchart> {
  const api = await mermaid();
  const result = await api.parse(text);
  if (!result || result.diagramType !== "flowchart-v2") throw new Error(`not a flowchart: ${JSON.stringify(result)}`);
  const db = (await api.mermaidAPI.getDiagramFromText(text)).db as unknown as FlowDB;
  return {
    nodes: new Map(
      [...db.getVertices().values()].map((vertex) => [
        vertex.id,
        { lines: rendered(vertex.text ?? vertex.id), shape: vertex.type ?? "square", classes: vertex.classes },
      ]),
    ),
    edges: db.getEdges().map((edge) => ({ start: edge.start, end: edge.end, text: rendered(edge.text ?? "").join("\n"), stroke: edge.stroke ?? "normal" })),
    subgraphs: new Map(db.getSubGraphs().map((subgraph) => [subgraph.id, { lines: rendered(subgraph.title), members: subgraph.nodes }])),
  };
}

/**
 * A label as the reader sees it: split at its line breaks, with Mermaid's
 * entity codes turned back into characters (Mermaid keeps `#35;` as a
 * placeholder until it writes the SVG; see its encodeEntities/decodeEntities).
 */
function rendered(text: string): string[] {
  const named: Record<string, string> = { quot: '"', amp: "&", lt: "<", gt: ">", nbsp: "\u00a0" };
  return text
    .split(/<br\s*\/?>/i)
    .map((line) =>
      line
        .replace(/\ufb02\u00b0\u00b0(\d+)\u00b6\u00df/g, (_, code: string) => String.fromCodePoint(Number(code)))
        .replace(/\ufb02\u00b0(\w+)\u00b6\u00df/g, (whole, name: string) => named[name] ?? whole),
    );
}

/** Every node id inside a subgraph, through the subgraphs nested in it. */
export function nodesWithin(chart: Flowchart, subgraph: string): string[] {
  const members = chart.subgraphs.get(subgraph)?.members ?? [];
  return members.flatMap((member) => (chart.subgraphs.has(member) ? nodesWithin(chart, member) : [member]));
}

/** The nodes reachable from `start` along the arrows, `start` included, never passing through `avoid`. */
export function reachableFrom(chart: Flowchart, start: string, avoid: readonly string[] = []): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const edge of chart.edges) {
      if (edge.start !== node || seen.has(edge.end) || avoid.includes(edge.end)) continue;
      seen.add(edge.end);
      queue.push(edge.end);
    }
  }
  return seen;
}
