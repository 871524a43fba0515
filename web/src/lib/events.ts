// Events (matched log lines): the search a page asks for, kept in its
// address so that a link (from a check's page) opens the same search.

/** The time ranges the events page offers, ending now. */
export const EVENT_RANGES: { key: string; label: string; seconds: number }[] = [
  { key: "1h", label: "1 hour", seconds: 3600 },
  { key: "24h", label: "24 hours", seconds: 86400 },
  { key: "7d", label: "7 days", seconds: 7 * 86400 },
  { key: "30d", label: "30 days", seconds: 30 * 86400 },
];

/** What a search asks for; empty text means "any". */
export type EventSearch = {
  agent_id: string;
  check: string;
  target: string;
  q: string;
  range: string;
};

const KEYS = ["agent_id", "check", "target", "q"] as const;

/** The search an address names (`/events?check=app-log&range=7d`). */
export function searchFromQuery(query: URLSearchParams): EventSearch {
  const range = query.get("range") ?? "";
  return {
    agent_id: query.get("agent_id") ?? "",
    check: query.get("check") ?? "",
    target: query.get("target") ?? "",
    q: query.get("q") ?? "",
    range: EVENT_RANGES.some((r) => r.key === range) ? range : "24h",
  };
}

/** The address of a search: only what narrows it, the default range left out. */
export function searchPath(search: EventSearch): string {
  const q = new URLSearchParams();
  for (const key of KEYS) {
    const v = search[key].trim();
    if (v) q.set(key, v);
  }
  if (search.range !== "24h") q.set("range", search.range);
  const s = q.toString();
  return s ? `/events?${s}` : "/events";
}

/** The API query of a search ending at `to`, after the event `before` (a page's `next`). */
export function eventQuery(search: EventSearch, to: Date, before?: number, limit = 100) {
  const seconds = EVENT_RANGES.find((r) => r.key === search.range)?.seconds ?? 86400;
  const query: {
    agent_id?: string;
    check?: string;
    target?: string;
    q?: string;
    from: string;
    to: string;
    before?: number;
    limit: number;
  } = {
    from: new Date(to.getTime() - seconds * 1000).toISOString(),
    to: to.toISOString(),
    limit,
  };
  for (const key of KEYS) {
    const v = search[key].trim();
    if (v) query[key] = v;
  }
  if (before !== undefined) query.before = before;
  return query;
}

/** An event's labels to show: `source` and `pattern` first, then the rest by name. */
export function labelPairs(labels: Record<string, string>): [string, string][] {
  const first = ["source", "pattern"];
  const rank = (k: string) => {
    const i = first.indexOf(k);
    return i < 0 ? first.length : i;
  };
  return Object.entries(labels).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}
