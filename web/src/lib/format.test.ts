import { describe, expect, it } from "vitest";
import { ago, clock, ms, percent, withUnit } from "./format";

describe("format", () => {
  it("reads durations (stored in seconds) as milliseconds", () => {
    expect(ms(0.00004)).toBe("0.04 ms");
    expect(ms(0.0125)).toBe("12.5 ms");
    expect(ms(0.234)).toBe("234 ms");
    expect(ms(undefined)).toBe("–");
    expect(ms(Number.NaN)).toBe("–");
  });
  it("reads ratios, bytes and counts in their units", () => {
    expect(percent(0.25, 0)).toBe("25 %");
    expect(withUnit(0.5, "ratio")).toBe("50.00 %");
    expect(withUnit(3 * 2 ** 30, "bytes")).toBe("3.0 GiB");
    expect(withUnit(5 * 2 ** 20, "bytes")).toBe("5.0 MiB");
    expect(withUnit(2048, "bytes")).toBe("2.0 KiB");
    expect(withUnit(7, "count")).toBe("7");
  });
  it("says how long ago", () => {
    const now = Date.parse("2026-12-04T10:00:00Z");
    expect(ago("2026-12-04T09:59:58Z", now)).toBe("2 s ago");
    expect(ago("2026-12-04T09:50:00Z", now)).toBe("10 min ago");
    expect(ago("2026-12-04T07:00:00Z", now)).toBe("3 h ago");
    expect(ago("2026-12-01T10:00:00Z", now)).toBe("3 d ago");
    expect(ago(null, now)).toBe("never");
  });
  it("reads a moment as a clock time, with its date on another day", () => {
    const t = new Date(2026, 11, 4, 9, 5, 7).toISOString();
    expect(clock(t, new Date(2026, 11, 4, 18, 0).getTime())).toBe("09:05:07");
    expect(clock(t, new Date(2026, 11, 5, 1, 0).getTime())).toMatch(/2026.* 09:05:07$/);
  });
});
