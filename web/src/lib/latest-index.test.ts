import { describe, expect, it } from "vitest";
import type { Latest, LiveResult } from "./data";
import { latestRow } from "./fixtures";
import { LatestIndex } from "./latest-index";

const row = (check_id: number, check: string, agent: string, status: Latest["status"], started_at: string): Latest =>
  latestRow(check_id, status, started_at, { check, agent });

const live = (r: Latest): LiveResult => {
  const { current: _c, interval_ms: _i, ...rest } = r;
  return rest;
};

const now = Date.parse("2026-12-07T10:00:10Z");

describe("LatestIndex", () => {
  it("lists check targets by check, then agent, then target", () => {
    const index = new LatestIndex([
      row(1, "web", "edge-2", "ok", "2026-12-07T10:00:00Z"),
      row(2, "dns", "edge-1", "ok", "2026-12-07T10:00:00Z"),
      row(3, "web", "edge-1", "ok", "2026-12-07T10:00:00Z"),
    ]);
    expect(index.sorted().map((r) => r.check_id)).toEqual([2, 3, 1]);
  });

  it("changes a target in place and keeps its place in the order", () => {
    const index = new LatestIndex([
      row(1, "dns", "edge-1", "ok", "2026-12-07T10:00:00Z"),
      row(2, "web", "edge-1", "ok", "2026-12-07T10:00:00Z"),
    ]);
    const change = index.merge(live(row(1, "dns", "edge-1", "timeout", "2026-12-07T10:00:05Z")));
    expect(change).toMatchObject({ check_id: 1, from: "ok", to: "timeout" });
    const sorted = index.sorted();
    expect(sorted.map((r) => r.check_id)).toEqual([1, 2]);
    expect(sorted[0]?.status).toBe("timeout");
    // What the server judged of the target carries over to the live result.
    expect(sorted[0]?.interval_ms).toBe(5000);
  });

  it("puts a target first seen live in its place", () => {
    const index = new LatestIndex([row(2, "web", "edge-1", "ok", "2026-12-07T10:00:00Z")]);
    expect(index.sorted()).toHaveLength(1);
    expect(index.merge(live(row(7, "dns", "edge-9", "ok", "2026-12-07T10:00:05Z")))).toBeNull();
    expect(index.sorted().map((r) => r.check_id)).toEqual([7, 2]);
    expect(index.size).toBe(2);
  });

  it("ignores an older or repeated result", () => {
    const index = new LatestIndex([row(1, "dns", "edge-1", "ok", "2026-12-07T10:00:05Z")]);
    expect(index.merge(live(row(1, "dns", "edge-1", "timeout", "2026-12-07T10:00:00Z")))).toBeNull();
    expect(index.sorted()[0]?.status).toBe("ok");
  });

  it("counts passing and failing targets, leaving out those with no data since", () => {
    const index = new LatestIndex([
      row(1, "a", "edge-1", "ok", "2026-12-07T10:00:05Z"),
      row(2, "b", "edge-1", "timeout", "2026-12-07T10:00:08Z"),
      row(3, "c", "edge-1", "refused", "2026-12-07T10:00:01Z"),
      // Silent for over 30 s at a 5 s interval: no data, neither passing nor failing.
      row(4, "d", "edge-1", "timeout", "2026-12-07T09:59:00Z"),
      row(5, "e", "edge-1", "ok", "2026-12-07T09:59:00Z"),
      { ...row(6, "f", "edge-1", "ok", "2026-12-07T10:00:05Z"), current: false },
    ]);
    const { passing, failing } = index.tally(now);
    expect(passing).toBe(1);
    // The longest-failing first.
    expect(failing.map((r) => r.check_id)).toEqual([3, 2]);
  });

  it("lists only failures, the longest-failing first", () => {
    const rows = [
      latestRow(1, "ok", "2026-12-04T10:00:00Z"),
      latestRow(2, "timeout", "2026-12-04T10:00:05Z"),
      latestRow(3, "refused", "2026-12-04T09:59:00Z"),
    ];
    // Checks of a minute: none of these is silent yet.
    const minutely = rows.map((r) => ({ ...r, interval_ms: 60_000 }));
    const { failing } = new LatestIndex(minutely).tally(Date.parse("2026-12-04T10:00:10Z"));
    expect(failing.map((r) => r.check_id)).toEqual([3, 2]);
  });

  it("leaves out targets without data: they fail no more", () => {
    const gone = { ...latestRow(1, "timeout", "2026-12-04T10:00:00Z"), current: false };
    const silent = latestRow(2, "refused", "2026-12-04T09:00:00Z");
    expect(new LatestIndex([gone, silent]).tally(Date.parse("2026-12-04T10:00:10Z")).failing).toEqual([]);
  });
});
