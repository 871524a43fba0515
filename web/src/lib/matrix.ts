// The mesh matrix: agents × agents, each cell the latest run from one agent
// to a peer, coloured by latency relative to the matrix and by loss.

export interface MeshCell {
  from: string;
  to: string;
  target: string;
  status: string;
  started_at: string;
  metrics: Record<string, number>;
}

export interface MeshMatrix {
  check: string;
  agents: string[];
  cells: MeshCell[];
}

export type Tone = "self" | "missing" | "down" | "lossy" | "good" | "fair" | "slow";

export interface Cell {
  from: string;
  to: string;
  tone: Tone;
  /** Seconds, when the run measured a latency. */
  latency?: number;
  /** 0–1, when the run measured loss. */
  loss?: number;
  status?: string;
  target?: string;
  startedAt?: string;
}

/** Latency metrics a cell shows, best first. */
const LATENCY = ["rtt_avg", "rtt", "connect_time", "rtt_min", "first_byte_time"];

export function latencyOf(metrics: Record<string, number>): number | undefined {
  for (const name of LATENCY) if (metrics[name] !== undefined) return metrics[name];
  return undefined;
}

/**
 * The rows of the matrix in the agents' order. A cell with loss ≥ 100 % or
 * a failed run is `down`, with some loss `lossy`; otherwise its latency
 * against the matrix's median sorts it into good / fair / slow (within 1.5×
 * or 1 ms of the median is good, within 3× or 5 ms fair).
 */
export function buildMatrix(mesh: MeshMatrix): Cell[][] {
  const byPair = new Map(mesh.cells.map((c) => [`${c.from}\u0000${c.to}`, c]));
  const latencies = mesh.cells
    .filter((c) => c.status === "ok")
    .map((c) => latencyOf(c.metrics))
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  const median = latencies.length ? latencies[Math.floor((latencies.length - 1) / 2)]! : 0;
  return mesh.agents.map((from) =>
    mesh.agents.map((to): Cell => {
      if (from === to) return { from, to, tone: "self" };
      const c = byPair.get(`${from}\u0000${to}`);
      if (!c) return { from, to, tone: "missing" };
      const latency = latencyOf(c.metrics);
      const loss = c.metrics.loss;
      const cell: Omit<Cell, "tone"> = { from, to, latency, loss, status: c.status, target: c.target, startedAt: c.started_at };
      if (c.status !== "ok" || (loss ?? 0) >= 1) return { ...cell, tone: "down" };
      if ((loss ?? 0) > 0) return { ...cell, tone: "lossy" };
      if (latency === undefined || median === 0) return { ...cell, tone: "good" };
      // Relative to the median, with a floor: 40 µs against 80 µs on a LAN is no news.
      const tone: Tone =
        latency <= Math.max(median * 1.5, median + 0.001)
          ? "good"
          : latency <= Math.max(median * 3, median + 0.005)
            ? "fair"
            : "slow";
      return { ...cell, tone };
    }),
  );
}
