import { describe, expect, it } from "vitest";
import { eventQuery, labelPairs, searchFromQuery, searchPath } from "./events";

describe("event searches", () => {
  it("read from an address, with the last day unless a known range is named", () => {
    const s = searchFromQuery(new URLSearchParams("check=app-log&q=50%25&range=7d"));
    expect(s).toEqual({ agent_id: "", check: "app-log", target: "", q: "50%", range: "7d" });
    expect(searchFromQuery(new URLSearchParams("range=1y")).range).toBe("24h");
  });

  it("write an address of what narrows them only", () => {
    const s = searchFromQuery(new URLSearchParams(""));
    expect(searchPath(s)).toBe("/events");
    expect(searchPath({ ...s, check: " app-log ", q: "disk 50%", range: "1h" })).toBe(
      "/events?check=app-log&q=disk+50%25&range=1h",
    );
  });

  it("ask the API for the range ending at `to`, after the page's last event", () => {
    const to = new Date("2026-01-02T00:00:00Z");
    const s = { agent_id: "", check: "app-log", target: "", q: "  ", range: "24h" };
    expect(eventQuery(s, to)).toEqual({
      check: "app-log",
      from: "2026-01-01T00:00:00.000Z",
      to: "2026-01-02T00:00:00.000Z",
      limit: 100,
    });
    expect(eventQuery({ ...s, range: "1h" }, to, 42, 10)).toMatchObject({
      from: "2026-01-01T23:00:00.000Z",
      before: 42,
      limit: 10,
    });
  });
});

describe("labelPairs", () => {
  it("puts source and pattern first, then the rest by name", () => {
    expect(labelPairs({ unit: "x", pattern: "error", host: "h", source: "/var/log/app.log" })).toEqual([
      ["source", "/var/log/app.log"],
      ["pattern", "error"],
      ["host", "h"],
      ["unit", "x"],
    ]);
  });
});
