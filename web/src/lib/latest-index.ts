// The latest result of every check target, kept for a page that shows tens
// of thousands of them and merges a live stream into them: a live result
// changes one entry in place, and the sorted order is rebuilt only when a
// check target appears (a result changes a target's status, never its name).

import type { Latest, LiveResult } from "./data";
import { type Change, longestFailingFirst, merge, silent } from "./status";

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
  /** Each row's start, parsed once (ms): a tally reads them all every second. */
  private readonly started = new Map<number, number>();
  /** Check ids in [`byName`] order; null when a target was added since. */
  private order: number[] | null = null;

  constructor(rows: Iterable<Latest> = []) {
    for (const r of rows) this.put(r);
  }

  get size(): number {
    return this.rows.size;
  }

  /** Merges a live result (see [`merge`]); returns the change of status, if any. */
  merge(live: LiveResult): Change | null {
    const before = this.rows.get(live.check_id);
    const change = merge(this.rows, live);
    const after = this.rows.get(live.check_id);
    if (after && after !== before) this.put(after);
    return change;
  }

  private put(r: Latest) {
    // A target not seen before: the order is drawn up again when asked for.
    if (!this.started.has(r.check_id)) this.order = null;
    this.rows.set(r.check_id, r);
    this.started.set(r.check_id, Date.parse(r.started_at));
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
    for (const [id, r] of this.rows) {
      if (silent(r, this.started.get(id) ?? 0, now)) continue;
      if (r.status === "ok") passing++;
      else failing.push(r);
    }
    failing.sort(longestFailingFirst);
    return { passing, failing };
  }
}
