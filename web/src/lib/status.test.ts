import { describe, expect, it } from "vitest";
import type { Latest } from "./data";
import { latestRow } from "./fixtures";
import { fromLive, isOnline, merge, noDataSince } from "./status";

const result = latestRow;

describe("isOnline", () => {
  const now = Date.parse("2026-12-04T10:01:00Z");
  it("counts an agent heard from within the window", () => {
    expect(isOnline({ id: "a", name: "a", last_seen_at: "2026-12-04T10:00:30Z" }, now, 45)).toBe(true);
    expect(isOnline({ id: "a", name: "a", last_seen_at: "2026-12-04T10:00:00Z" }, now, 45)).toBe(false);
  });
  it("never counts a revoked or silent agent", () => {
    expect(isOnline({ id: "a", name: "a" }, now, 45)).toBe(false);
    expect(
      isOnline({ id: "a", name: "a", last_seen_at: "2026-12-04T10:00:59Z", revoked_at: "2026-12-04T09:00:00Z" }, now, 45),
    ).toBe(false);
  });
});

describe("noDataSince", () => {
  const last = "2026-12-04T10:00:00Z";
  const at = (s: number) => Date.parse(last) + s * 1000;
  it("is null while a current target reports within three intervals (and 30 s)", () => {
    expect(noDataSince(result(1, "ok", last), at(29))).toBeNull();
    expect(noDataSince({ ...result(1, "ok", last), interval_ms: 60_000 }, at(179))).toBeNull();
  });
  it("is the last result's time once the results stop", () => {
    expect(noDataSince(result(1, "ok", last), at(31))).toBe(last);
    expect(noDataSince({ ...result(1, "ok", last), interval_ms: 60_000 }, at(181))).toBe(last);
  });
  it("is the last result's time at once for a target its check no longer has", () => {
    expect(noDataSince({ ...result(1, "ok", last), current: false }, at(1))).toBe(last);
  });
  it("never ages a check the server does not define (no interval)", () => {
    expect(noDataSince({ ...result(1, "ok", last), interval_ms: null }, at(86_400))).toBeNull();
  });
});

describe("merge", () => {
  it("replaces older results and reports a change of status", () => {
    const latest = new Map([[1, result(1, "ok", "2026-12-04T10:00:00Z")]]);
    expect(merge(latest, result(1, "ok", "2026-12-04T10:00:05Z"))).toBeNull();
    const change = merge(latest, result(1, "timeout", "2026-12-04T10:00:10Z"));
    expect(change).toMatchObject({ check_id: 1, from: "ok", to: "timeout" });
    expect(latest.get(1)!.status).toBe("timeout");
  });
  it("ignores a replayed or out-of-order result", () => {
    const latest = new Map([[1, result(1, "timeout", "2026-12-04T10:00:10Z")]]);
    expect(merge(latest, result(1, "ok", "2026-12-04T10:00:05Z"))).toBeNull();
    expect(merge(latest, result(1, "ok", "2026-12-04T10:00:10Z"))).toBeNull();
    expect(latest.get(1)!.status).toBe("timeout");
  });
  it("keeps what the server judged of the target", () => {
    const latest = new Map([[1, { ...result(1, "ok", "2026-12-04T10:00:00Z"), current: false, interval_ms: 60_000 }]]);
    merge(latest, result(1, "ok", "2026-12-04T10:00:05Z"));
    expect(latest.get(1)).toMatchObject({ current: false, interval_ms: 60_000, started_at: "2026-12-04T10:00:05Z" });
    expect(fromLive(result(2, "ok", "2026-12-04T10:00:05Z"))).toMatchObject({ current: true, interval_ms: null });
  });
  it("takes a first result without reporting a change", () => {
    const latest = new Map<number, Latest>();
    expect(merge(latest, result(9, "error", "2026-12-04T10:00:00Z"))).toBeNull();
    expect(latest.size).toBe(1);
  });
});
