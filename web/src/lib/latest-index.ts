// The latest result of every check target, kept for a page that shows tens
// of thousands of them and merges a live stream into them: a live result
// changes one entry in place, and the sorted order is rebuilt only when a
// check target appears (a result changes a target's status, never its name).

import type { Latest, LiveResult } from "./data";
import { type Change, longestFailingFirst, merge, noDataSince } from "./status";

const collator = new Intl.Collator();

/** Check, then agent, then target: how the overview lists check targets. */
export function byName(a: Latest, b: Latest): number {
  return collator.compare(a.check, b.check) || collator.compare(a.agent, b.agent) || collator.compare(a.target, b.target);
}

/** What the overview counts at one moment. */
export interface Tally {
  /** Check targets whose last run passed and that still report. */
  passing: number;
  /** Check targets whose last run failed and that still report, the longest-failing first. */
  failing: Latest[];
}

export class LatestIndex {
  private readonly rows = new Map<number, Latest>();
  /** Check ids in [`byName`] order; null when a target was added since. */
  private order: number[] | null = [];

  constructor(rows: Iterable<Latest> = []) {
    for (const r of rows) this.rows.set(r.check_id, r);
    this.order = null;
  }

  get size(): number {
    return this.rows.size;
  }

  /** Merges a live result (see [`merge`]); returns the change of status, if any. */
  merge(live: LiveResult): Change | null {
    const known = this.rows.has(live.check_id);
    const change = merge(this.rows, live);
    if (!known && this.rows.has(live.check_id)) this.order = null;
    return change;
  }

  /** Every check target, by check, agent and target. */
  sorted(): Latest[] {
    if (!this.order) {
      this.order = [...this.rows.values()].sort(byName).map((r) => r.check_id);
    }
    return this.order.map((id) => this.rows.get(id) as Latest);
  }

  /** Passing and failing check targets at `now` (those with no data since count as neither). */
  tally(now: number): Tally {
    let passing = 0;
    const failing: Latest[] = [];
    for (const r of this.rows.values()) {
      if (noDataSince(r, now)) continue;
      if (r.status === "ok") passing++;
      else failing.push(r);
    }
    failing.sort(longestFailingFirst);
    return { passing, failing };
  }
}
