import { describe, expect, it } from "vitest";
import { ROW_HEIGHT, visibleRange } from "./virtual-rows";

describe("visibleRange", () => {
  it("draws the rows in view and a few around them", () => {
    expect(visibleRange(5000, 0, 600)).toEqual([0, Math.ceil(600 / ROW_HEIGHT) + 10]);
    const [first, last] = visibleRange(5000, 100 * ROW_HEIGHT, 600);
    expect(first).toBe(90);
    expect(last).toBe(100 + Math.ceil(600 / ROW_HEIGHT) + 10);
  });
  it("stays inside the list at its end", () => {
    expect(visibleRange(50, 50 * ROW_HEIGHT, 600)).toEqual([40, 50]);
    expect(visibleRange(0, 0, 600)).toEqual([0, 0]);
  });
});
