import { describe, expect, it } from "vitest";
import { bucketStep, smokeBuckets, smokeColumns, type Point } from "./smoke";

const raw = (t: string, value: number): Point => ({ t, count: 1, min: value, avg: value, max: value });

describe("smokeBuckets", () => {
  it("draws a run of a thousand packets from the quantiles the server sent", () => {
    const run: Point = {
      t: "2026-12-04T10:00:00Z",
      count: 1000,
      min: 0.001,
      avg: 0.012,
      max: 0.09,
      quantiles: { p05: 0.002, p25: 0.005, p50: 0.01, p75: 0.02, p95: 0.05 },
    };
    const [b] = smokeBuckets([run]);
    expect(b).toEqual({ t: Date.parse(run.t) / 1000, n: 1000, min: 0.001, max: 0.09, q: run.quantiles });
  });

  it("makes a single sample its own distribution and sorts by time", () => {
    const buckets = smokeBuckets([raw("2026-12-04T10:01:00Z", 7), raw("2026-12-04T10:00:00Z", 3)]);
    expect(buckets.map((b) => [b.t % 3600, b.n, b.q.p05, b.q.p50, b.q.p95])).toEqual([
      [0, 1, 3, 3, 3],
      [60, 1, 7, 7, 7],
    ]);
  });

  it("leaves out empty, unparseable and quantile-less points rather than guess", () => {
    expect(smokeBuckets([])).toEqual([]);
    expect(smokeBuckets([{ t: "not a time", count: 1, min: 1, avg: 1, max: 1 }])).toEqual([]);
    expect(smokeBuckets([{ t: "2026-12-04T10:00:00Z", count: 0, min: 0, avg: 0, max: 0 }])).toEqual([]);
    expect(smokeBuckets([{ t: "2026-12-04T10:00:00Z", count: 5, min: 1, avg: 2, max: 3 }])).toEqual([]);
  });
});

describe("smokeColumns", () => {
  it("lays out time, five quantiles, min and max, scaled", () => {
    const buckets = smokeBuckets([raw("2026-12-04T10:00:00Z", 0.002)]);
    const cols = smokeColumns(buckets, 1e3);
    expect(cols).toHaveLength(8);
    expect(cols[0]).toEqual([Date.parse("2026-12-04T10:00:00Z") / 1000]);
    expect(cols.slice(1).map((c) => c[0])).toEqual([2, 2, 2, 2, 2, 2, 2]);
  });
});

describe("bucketStep", () => {
  it("asks for one point per run over short ranges and wider buckets over long ones", () => {
    expect(bucketStep(300)).toBeUndefined();
    expect(bucketStep(3600)).toBeUndefined();
    expect(bucketStep(6 * 3600)).toBe(300);
    expect(bucketStep(86400)).toBe(900);
    expect(bucketStep(7 * 86400)).toBe(3600);
    expect(bucketStep(30 * 86400)).toBe(3 * 3600);
  });
});
