// The traceroute path view: the hops of a run (per-hop latency and loss from
// the traceroute plugin's labelled series), the path-change timeline (its
// `path_fingerprint` series, labelled with the canonical path), and the
// difference between two paths.

export interface LabelledPoints {
  metric: string;
  labels: Record<string, string>;
  points: { t: string; avg: number }[];
}

export interface Responder {
  address: string;
  /** Seconds. */
  rtt?: number;
}

export interface HopRow {
  hop: number;
  loss?: number;
  responders: Responder[];
}

/** The hops of the run at `t` (ISO time), in order. */
export function hopsAt(series: LabelledPoints[], t: string): HopRow[] {
  const hops = new Map<number, HopRow>();
  const row = (hop: number) => {
    let r = hops.get(hop);
    if (!r) {
      r = { hop, responders: [] };
      hops.set(hop, r);
    }
    return r;
  };
  const at = Date.parse(t);
  for (const s of series) {
    const hop = Number(s.labels.hop);
    if (!Number.isInteger(hop)) continue;
    const point = s.points.find((p) => Date.parse(p.t) === at);
    if (!point) continue;
    if (s.metric === "hop_loss") row(hop).loss = point.avg;
    else if (s.metric === "hop_rtt_avg" && s.labels.address) {
      row(hop).responders.push({ address: s.labels.address, rtt: point.avg });
    }
  }
  const rows = [...hops.values()].sort((a, b) => a.hop - b.hop);
  for (const r of rows) r.responders.sort((a, b) => a.address.localeCompare(b.address));
  return rows;
}

export interface PathSegment {
  path: string;
  /** First and last run that took this path (ISO times). */
  from: string;
  to: string;
  runs: number;
}

/**
 * The path over time: consecutive runs on the same path form one segment;
 * a new segment starts at each change.
 */
export function pathTimeline(series: LabelledPoints[]): PathSegment[] {
  const runs: { t: string; path: string }[] = [];
  for (const s of series) {
    if (s.metric !== "path_fingerprint" || s.labels.path === undefined) continue;
    for (const p of s.points) runs.push({ t: p.t, path: s.labels.path });
  }
  runs.sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
  const segments: PathSegment[] = [];
  for (const run of runs) {
    const last = segments[segments.length - 1];
    if (last && last.path === run.path) {
      last.to = run.t;
      last.runs += 1;
    } else {
      segments.push({ path: run.path, from: run.t, to: run.t, runs: 1 });
    }
  }
  return segments;
}

export interface HopChange {
  hop: number;
  before: string;
  after: string;
}

/** The hops where two canonical paths (`a|b,*,c`) differ, 1-based. */
export function pathDiff(before: string, after: string): HopChange[] {
  const a = before ? before.split(",") : [];
  const b = after ? after.split(",") : [];
  const changes: HopChange[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? "";
    const y = b[i] ?? "";
    if (x !== y) changes.push({ hop: i + 1, before: x, after: y });
  }
  return changes;
}
