// The latency "smoke" of a check: per time bucket, the distribution of every
// value measured in it (each echo reply of a ping run, each run of a TCP
// check…), drawn as nested bands around the median, as SmokePing does.
//
// The server computes every quantile: exact from raw values, merged sketches
// from rollups, over buckets of the `step` the chart asks for. This module
// only lays its points out; it never estimates a quantile itself.

/** A point of `/api/v1/series/history`: a raw sample (count 1), a run's distribution or a bucket. */
export interface Point {
  t: string;
  count: number;
  min: number;
  avg: number;
  max: number;
  quantiles?: Quantiles | null;
}

export interface Quantiles {
  p05: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
}

/** The distribution of one time bucket. */
export interface Bucket {
  /** Start of the bucket, in seconds since the epoch. */
  t: number;
  /** Values measured in the bucket. */
  n: number;
  min: number;
  max: number;
  q: Quantiles;
}

/**
 * One bucket per point, sorted by time. A single sample is its own
 * distribution; a point of several values brings its quantiles. Points
 * without values or with an unparseable time are left out.
 */
export function smokeBuckets(points: Point[]): Bucket[] {
  const buckets: Bucket[] = [];
  for (const p of points) {
    const t = Date.parse(p.t) / 1000;
    if (!Number.isFinite(t) || p.count <= 0) continue;
    const q = p.quantiles ?? (p.count === 1 ? { p05: p.avg, p25: p.avg, p50: p.avg, p75: p.avg, p95: p.avg } : null);
    if (!q) continue;
    buckets.push({ t, n: p.count, min: p.min, max: p.max, q });
  }
  return buckets.sort((a, b) => a.t - b.t);
}

/**
 * The columns uPlot draws, one array per series: time, the five quantiles,
 * and min and max; values scaled by `scale` (e.g. 1e3 for seconds → ms).
 */
export function smokeColumns(buckets: Bucket[], scale = 1): number[][] {
  const cols: number[][] = [[], [], [], [], [], [], [], []];
  for (const b of buckets) {
    const row = [b.t, b.q.p05, b.q.p25, b.q.p50, b.q.p75, b.q.p95, b.min, b.max];
    row.forEach((v, i) => cols[i]!.push(i === 0 ? v : v * scale));
  }
  return cols;
}

/**
 * The `step` a chart of the last `rangeSeconds` asks the server for: about
 * `target` buckets; none (one point per run) up to an hour.
 */
export function bucketStep(rangeSeconds: number, target = 240): number | undefined {
  if (rangeSeconds <= 3600) return undefined;
  const steps = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400];
  const wanted = rangeSeconds / target;
  return steps.find((s) => s >= wanted) ?? 86400;
}
