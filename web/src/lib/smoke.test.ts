import { describe, expect, it } from "vitest";
import { bucketStep, smokeBuckets, smokeColumns, type Point } from "./smoke";

const raw = (t: string, value: number): Point => ({ t, count: 1, min: value, avg: value, max: value });

describe("smokeBuckets", () => {
  it("groups the echo replies of one run, across their series, into one bucket", () => {
    // Three ping runs of four packets: seq=1..4 are four series.
    const runs = ["2026-12-04T10:00:00Z", "2026-12-04T10:00:05Z", "2026-12-04T10:00:10Z"];
    const series = [1, 2, 3, 4].map((seq) => runs.map((t, run) => raw(t, run * 100 + seq)));
    const buckets = smokeBuckets(series);
    expect(buckets.map((b) => b.t)).toEqual(runs.map((t) => Date.parse(t) / 1000));
    expect(buckets.map((b) => b.n)).toEqual([4, 4, 4]);
    expect(buckets[1]).toMatchObject({ min: 101, max: 104 });
    expect(buckets[1]!.q.p50).toBe(102);
    expect(buckets[1]!.q.p95).toBe(104);
    expect(buckets[1]!.q.p05).toBe(101);
  });

  it("puts runs into buckets of a fixed width, sorted by time", () => {
    const series = [
      [raw("2026-12-04T10:01:30Z", 7), raw("2026-12-04T10:00:10Z", 1), raw("2026-12-04T10:00:50Z", 3)],
    ];
    const buckets = smokeBuckets(series, 60);
    expect(buckets.map((b) => [b.t % 3600, b.n, b.min, b.max])).toEqual([
      [0, 2, 1, 3],
      [60, 1, 7, 7],
    ]);
  });

  it("weighs rollups by their counts and keeps their extremes", () => {
    const rollup: Point = {
      t: "2026-12-04T10:00:00Z",
      count: 1000,
      min: 1,
      avg: 10,
      max: 90,
      quantiles: { p05: 2, p25: 5, p50: 10, p75: 20, p95: 50 },
    };
    // One stray raw sample in the same bucket barely moves the median.
    const [b] = smokeBuckets([[rollup], [raw("2026-12-04T10:00:30Z", 80)]], 60);
    expect(b).toMatchObject({ n: 1001, min: 1, max: 90 });
    expect(b!.q.p50).toBe(10);
    expect(b!.q.p05).toBe(2);
    expect(b!.q.p95).toBe(50);
  });

  it("ignores empty and unparseable points", () => {
    expect(smokeBuckets([])).toEqual([]);
    expect(smokeBuckets([[{ t: "not a time", count: 1, min: 1, avg: 1, max: 1 }]])).toEqual([]);
    expect(smokeBuckets([[{ t: "2026-12-04T10:00:00Z", count: 0, min: 0, avg: 0, max: 0 }]])).toEqual([]);
  });
});

describe("smokeColumns", () => {
  it("lays out time, five quantiles, min and max, scaled", () => {
    const buckets = smokeBuckets([[raw("2026-12-04T10:00:00Z", 0.002)]]);
    const cols = smokeColumns(buckets, 1e3);
    expect(cols).toHaveLength(8);
    expect(cols[0]).toEqual([Date.parse("2026-12-04T10:00:00Z") / 1000]);
    expect(cols.slice(1).map((c) => c[0])).toEqual([2, 2, 2, 2, 2, 2, 2]);
  });
});

describe("bucketStep", () => {
  it("keeps raw runs for short ranges and widens buckets for long ones", () => {
    expect(bucketStep(300, "raw")).toBe(0);
    expect(bucketStep(3600, "raw")).toBe(0);
    expect(bucketStep(6 * 3600, "1m")).toBe(300);
    expect(bucketStep(30 * 86400, "1h")).toBe(3 * 3600);
  });
});
