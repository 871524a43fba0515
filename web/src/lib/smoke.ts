// The latency "smoke" of a check: per time bucket, the distribution of every
// value measured in it (each echo reply of a ping run, each run of a TCP
// check…), drawn as nested bands around the median, as SmokePing does.

/** A point of `/api/v1/series/history`: a raw sample (count 1) or a rollup. */
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

interface Weighted {
  value: number;
  weight: number;
}

/**
 * The distribution per bucket of `step` seconds (0: one bucket per distinct
 * timestamp, which is one per run for raw samples) across all `series`.
 * Raw samples count as themselves; a rollup point stands in for its `count`
 * values through its quantiles and extremes.
 */
export function smokeBuckets(series: Point[][], step = 0): Bucket[] {
  const byBucket = new Map<number, Weighted[]>();
  for (const points of series) {
    for (const p of points) {
      const seconds = Date.parse(p.t) / 1000;
      if (!Number.isFinite(seconds) || p.count <= 0) continue;
      const t = step > 0 ? Math.floor(seconds / step) * step : seconds;
      let values = byBucket.get(t);
      if (!values) {
        values = [];
        byBucket.set(t, values);
      }
      representatives(p, values);
    }
  }
  const buckets: Bucket[] = [];
  for (const [t, values] of byBucket) {
    values.sort((a, b) => a.value - b.value);
    const total = values.reduce((sum, v) => sum + v.weight, 0);
    buckets.push({
      t,
      n: Math.round(total),
      min: values[0]!.value,
      max: values[values.length - 1]!.value,
      q: {
        p05: quantile(values, total, 0.05),
        p25: quantile(values, total, 0.25),
        p50: quantile(values, total, 0.5),
        p75: quantile(values, total, 0.75),
        p95: quantile(values, total, 0.95),
      },
    });
  }
  return buckets.sort((a, b) => a.t - b.t);
}

function representatives(p: Point, out: Weighted[]) {
  if (p.count === 1 || !p.quantiles) {
    if (p.count === 1) {
      out.push({ value: p.avg, weight: 1 });
    } else {
      // A rollup without a sketch: its extremes and mean.
      const w = p.count / 3;
      out.push({ value: p.min, weight: w }, { value: p.avg, weight: w }, { value: p.max, weight: w });
    }
    return;
  }
  const { p05, p25, p50, p75, p95 } = p.quantiles;
  // Each representative stands for the share of values around its quantile.
  const shares: [number, number][] = [
    [p.min, 0.025],
    [p05, 0.1],
    [p25, 0.225],
    [p50, 0.3],
    [p75, 0.225],
    [p95, 0.1],
    [p.max, 0.025],
  ];
  for (const [value, share] of shares) out.push({ value, weight: p.count * share });
}

/** The weighted quantile `q` of sorted values (lower value at ties). */
function quantile(sorted: Weighted[], total: number, q: number): number {
  const rank = q * total;
  let seen = 0;
  for (const v of sorted) {
    seen += v.weight;
    if (seen >= rank - 1e-9) return v.value;
  }
  return sorted[sorted.length - 1]!.value;
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

/** The bucket width that keeps a range to about `target` buckets (0 for raw). */
export function bucketStep(rangeSeconds: number, resolution: string, target = 240): number {
  if (resolution === "raw" && rangeSeconds <= 3600) return 0;
  const steps = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400];
  const wanted = rangeSeconds / target;
  return steps.find((s) => s >= wanted) ?? 86400;
}
