import { describe, expect, it } from "vitest";
import { alignLines, seriesName } from "./lines";

describe("alignLines", () => {
  it("puts every series on the union of their times, with gaps as null", () => {
    const a = { labels: { core: "0" }, points: [{ t: "2026-12-07T00:00:00Z", avg: 1 }, { t: "2026-12-07T00:00:20Z", avg: 3 }] };
    const b = { labels: { core: "1" }, points: [{ t: "2026-12-07T00:00:10Z", avg: 2 }, { t: "2026-12-07T00:00:20Z", avg: 4 }] };
    const { times, values } = alignLines([a, b]);
    const t0 = Date.parse("2026-12-07T00:00:00Z") / 1000;
    expect(times).toEqual([t0, t0 + 10, t0 + 20]);
    expect(values).toEqual([
      [1, null, 3],
      [null, 2, 4],
    ]);
  });

  it("is empty without series", () => {
    expect(alignLines([])).toEqual({ times: [], values: [] });
  });
});

describe("seriesName", () => {
  it("names a series by its sorted labels, or all without any", () => {
    expect(seriesName({ mode: "idle", cpu: "0" })).toBe("cpu=0, mode=idle");
    expect(seriesName({})).toBe("all");
  });
});
