// Several series of one metric on one timeline, for a line chart: the
// union of their times, each series' value at each time (null where it has
// none), and a short name per series from its labels.

export type LinePoint = { t: string; avg: number };
export type LineSeries = { labels: Record<string, string>; points: LinePoint[] };

/** What tells a series apart from the others: its labels, `k=v, …`, or "all" without any. */
export function seriesName(labels: Record<string, string>): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(", ") : "all";
}

/** The times (Unix seconds, ascending) and each series' values on them. */
export function alignLines(series: LineSeries[]): { times: number[]; values: (number | null)[][] } {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort();
  const values = series.map((s) => {
    const at = new Map(s.points.map((p) => [p.t, p.avg]));
    return times.map((t) => at.get(t) ?? null);
  });
  return { times: times.map((t) => Date.parse(t) / 1000), values };
}
