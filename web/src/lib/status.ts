// What the overview shows: agents online and offline, failing check targets,
// and the status changes seen since the page opened.

import type { Latest } from "./data";

export type Status = Latest["status"];

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

/** Failing check targets first by how long they have failed, then by name. */
export function failing(latest: Iterable<Latest>): Latest[] {
  return [...latest]
    .filter((r) => r.status !== "ok")
    .sort((a, b) => a.started_at.localeCompare(b.started_at) || label(a).localeCompare(label(b)));
}

export function label(r: Pick<Latest, "agent" | "check" | "target">): string {
  return `${r.check} · ${r.target} · ${r.agent}`;
}

/**
 * Merges a live result into the latest results by check target: a newer
 * result replaces the older, and a change of status is returned. An older or
 * repeated result (a re-sent batch) changes nothing.
 */
export function merge(latest: Map<number, Latest>, r: Latest): Change | null {
  const before = latest.get(r.check_id);
  if (before && before.started_at >= r.started_at) return null;
  latest.set(r.check_id, r);
  if (!before || before.status === r.status) return null;
  return { check_id: r.check_id, label: label(r), from: before.status, to: r.status, at: r.started_at };
}
