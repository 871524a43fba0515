// The server's own `/metrics` (Prometheus text format 0.0.4) read in the
// page: samples by name and labels, rates between two readings, and
// latency quantiles from a histogram's buckets.

export type Sample = { name: string; labels: Record<string, string>; value: number };
export type Reading = { at: number; samples: Sample[] };

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of the text; comments and lines it cannot read are skipped. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const value = Number(m[4] === "+Inf" ? Infinity : m[4]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** The sum of `name`'s samples whose labels include `where`. */
export function total(samples: Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((sum, s) => sum + s.value, 0) : undefined;
}

/** Per second from `before` to `now`; none without both or when the counter went back. */
export function perSecond(before: Reading | undefined, now: Reading, name: string, where: Record<string, string> = {}) {
  if (!before) return undefined;
  const a = total(before.samples, name, where);
  const b = total(now.samples, name, where);
  const seconds = (now.at - before.at) / 1000;
  if (a === undefined || b === undefined || seconds <= 0 || b < a) return undefined;
  return (b - a) / seconds;
}

/**
 * The `q` quantile (0–1) of the observations a histogram gained from
 * `before` to `now`, all label sets together, interpolated within its
 * bucket as Prometheus's `histogram_quantile` does; none without new ones.
 */
export function quantile(before: Reading | undefined, now: Reading, name: string, q: number): number | undefined {
  if (!before) return undefined;
  const buckets = new Map<number, number>();
  const add = (samples: Sample[], sign: number) => {
    for (const s of samples) {
      if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + sign * s.value);
    }
  };
  add(now.samples, 1);
  add(before.samples, -1);
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const count = buckets.get(Infinity) ?? 0;
  if (count <= 0) return undefined;
  const rank = q * count;
  let below = 0;
  let lower = 0;
  for (const le of bounds) {
    const cumulative = buckets.get(le)!;
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      const inBucket = cumulative - below;
      return inBucket > 0 ? lower + ((le - lower) * (rank - below)) / inBucket : le;
    }
    below = cumulative;
    lower = le;
  }
  return lower;
}
