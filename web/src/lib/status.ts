// What the overview shows: agents online and offline, failing check targets,
// and the status changes seen since the page opened.

import type { Latest, LiveResult } from "./data";

export type Status = Latest["status"];

/** Results a check target may miss before it reads "no data since …". */
export const SILENT_INTERVALS = 3;
/** …but never sooner than this (ms): a result may take a moment to arrive. */
const MIN_SILENCE_MS = 30_000;

export interface AgentSeen {
  id: string;
  name: string;
  last_seen_at?: string | null;
  revoked_at?: string | null;
}

export interface Change {
  check_id: number;
  label: string;
  from: Status;
  to: Status;
  at: string;
}

/** Whether an agent counts as online at `now` (heard from within `offlineAfter` s). */
export function isOnline(agent: AgentSeen, now: number, offlineAfter: number): boolean {
  if (agent.revoked_at || !agent.last_seen_at) return false;
  return now - Date.parse(agent.last_seen_at) <= offlineAfter * 1000;
}

/**
 * Since when a check target has had no data, or null while it reports: the
 * server no longer assigns it (`current` false), or its last result is older
 * than three of its check's intervals.
 */
export function noDataSince(r: Latest, now: number): string | null {
  return silent(r, Date.parse(r.started_at), now) ? r.started_at : null;
}

/** [`noDataSince`] as a yes or no, with the result's start already parsed (ms). */
export function silent(r: Pick<Latest, "current" | "interval_ms">, startedMs: number, now: number): boolean {
  if (r.current === false) return true;
  if (r.interval_ms == null) return false;
  return now - startedMs > Math.max(SILENT_INTERVALS * r.interval_ms, MIN_SILENCE_MS);
}

const collator = new Intl.Collator();

/** How failing check targets are listed: the oldest last result first, then by label. */
export function longestFailingFirst(a: Latest, b: Latest): number {
  if (a.started_at !== b.started_at) return a.started_at < b.started_at ? -1 : 1;
  return collator.compare(label(a), label(b));
}

export function label(r: Pick<Latest, "agent" | "check" | "target">): string {
  return `${r.check} · ${r.target} · ${r.agent}`;
}

/**
 * Merges a live result into the latest results by check target: a newer
 * result replaces the older, and a change of status is returned. An older or
 * repeated result (a re-sent batch) changes nothing.
 */
export function merge(latest: Map<number, Latest>, live: LiveResult): Change | null {
  const before = latest.get(live.check_id);
  if (before && before.started_at >= live.started_at) return null;
  const r = fromLive(live, before);
  latest.set(r.check_id, r);
  if (!before || before.status === r.status) return null;
  return { check_id: r.check_id, label: label(r), from: before.status, to: r.status, at: r.started_at };
}

/**
 * A live result as the latest of its check target: what the server judged
 * of the target when the page read it (current, interval) carries over.
 */
export function fromLive(r: LiveResult, before?: Latest | null): Latest {
  return { ...r, current: before?.current ?? true, interval_ms: before?.interval_ms ?? null };
}
