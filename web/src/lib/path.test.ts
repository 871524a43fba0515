import { describe, expect, it } from "vitest";
import { hopsAt, type LabelledPoints, pathDiff, pathTimeline } from "./path";

const T1 = "2026-12-04T10:00:00Z";
const T2 = "2026-12-04T10:01:00Z";

describe("hopsAt", () => {
  it("builds the hop table of one run from labelled series", () => {
    const series: LabelledPoints[] = [
      { metric: "hop_loss", labels: { hop: "1" }, points: [{ t: T1, avg: 0 }, { t: T2, avg: 0 }] },
      { metric: "hop_loss", labels: { hop: "2" }, points: [{ t: T1, avg: 1 }] },
      { metric: "hop_loss", labels: { hop: "3" }, points: [{ t: T1, avg: 0.5 }] },
      { metric: "hop_rtt_avg", labels: { hop: "1", address: "10.0.1.1" }, points: [{ t: T1, avg: 0.001 }] },
      { metric: "hop_rtt_avg", labels: { hop: "3", address: "10.0.3.2" }, points: [{ t: T1, avg: 0.003 }] },
      { metric: "hop_rtt_avg", labels: { hop: "3", address: "10.0.3.1" }, points: [{ t: T1, avg: 0.004 }] },
      // Another run's answer is not this run's.
      { metric: "hop_rtt_avg", labels: { hop: "2", address: "10.0.2.1" }, points: [{ t: T2, avg: 0.002 }] },
      { metric: "destination_rtt", labels: {}, points: [{ t: T1, avg: 0.003 }] },
    ];
    expect(hopsAt(series, T1)).toEqual([
      { hop: 1, loss: 0, responders: [{ address: "10.0.1.1", rtt: 0.001 }] },
      { hop: 2, loss: 1, responders: [] },
      {
        hop: 3,
        loss: 0.5,
        responders: [
          { address: "10.0.3.1", rtt: 0.004 },
          { address: "10.0.3.2", rtt: 0.003 },
        ],
      },
    ]);
  });
});

describe("pathTimeline", () => {
  it("merges runs on one path and starts a segment at each change", () => {
    const fp = (path: string, times: string[]): LabelledPoints => ({
      metric: "path_fingerprint",
      labels: { path },
      points: times.map((t) => ({ t, avg: 1 })),
    });
    const segments = pathTimeline([
      fp("a,b,c", ["2026-12-04T10:00:00Z", "2026-12-04T10:01:00Z", "2026-12-04T10:04:00Z"]),
      fp("a,x,c", ["2026-12-04T10:02:00Z", "2026-12-04T10:03:00Z"]),
    ]);
    expect(segments).toEqual([
      { path: "a,b,c", from: "2026-12-04T10:00:00Z", to: "2026-12-04T10:01:00Z", runs: 2 },
      { path: "a,x,c", from: "2026-12-04T10:02:00Z", to: "2026-12-04T10:03:00Z", runs: 2 },
      { path: "a,b,c", from: "2026-12-04T10:04:00Z", to: "2026-12-04T10:04:00Z", runs: 1 },
    ]);
    expect(pathTimeline([])).toEqual([]);
  });
});

describe("pathDiff", () => {
  it("names the hops that changed, including added and removed ones", () => {
    expect(pathDiff("a,b,c", "a,b,c")).toEqual([]);
    expect(pathDiff("a,b,c", "a,x,c")).toEqual([{ hop: 2, before: "b", after: "x" }]);
    expect(pathDiff("a,b", "a,b,*,d")).toEqual([
      { hop: 3, before: "", after: "*" },
      { hop: 4, before: "", after: "d" },
    ]);
    expect(pathDiff("", "a")).toEqual([{ hop: 1, before: "", after: "a" }]);
  });
});
