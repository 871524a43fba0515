import { describe, expect, it } from "vitest";
import { duration, percent, periodInput } from "./reports";

describe("report figures", () => {
  it("shows availability to four decimals and nothing when none was counted", () => {
    expect(percent(99.98148)).toBe("99.9815 %");
    expect(percent(null)).toBe("–");
  });

  it("reads durations as people write them", () => {
    expect(duration(42)).toBe("42 s");
    expect(duration(2400)).toBe("40 min");
    expect(duration(11100)).toBe("3 h 05 min");
    expect(duration(187200)).toBe("2 d 4 h");
    expect(duration(undefined)).toBe("–");
  });

  it("picks the browser's picker where its value is the server's label", () => {
    expect(periodInput("month").type).toBe("month");
    expect(periodInput("week").type).toBe("week");
    expect(periodInput("day").type).toBe("date");
    expect(new RegExp(`^${periodInput("quarter").pattern}$`).test("2026-Q4")).toBe(true);
    expect(new RegExp(`^${periodInput("year").pattern}$`).test("2026")).toBe(true);
  });
});
