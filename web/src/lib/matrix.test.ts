import { describe, expect, it } from "vitest";
import { buildMatrix, latencyOf, type MeshCell } from "./matrix";

const cell = (from: string, to: string, metrics: Record<string, number>, status = "ok"): MeshCell => ({
  from,
  to,
  target: `10.0.0.${to.length}`,
  status,
  started_at: "2026-12-04T10:00:00Z",
  metrics,
});

describe("buildMatrix", () => {
  const agents = ["a", "b", "c"];

  it("lays out every pair in the agents' order, the diagonal as self", () => {
    const rows = buildMatrix({ check: "mesh", agents, cells: [cell("a", "b", { rtt_avg: 0.001, loss: 0 })] });
    expect(rows.map((r) => r.map((c) => c.tone))).toEqual([
      ["self", "good", "missing"],
      ["missing", "self", "missing"],
      ["missing", "missing", "self"],
    ]);
    expect(rows[0]![1]).toMatchObject({ from: "a", to: "b", latency: 0.001, loss: 0 });
  });

  it("colours by loss, failure and latency against the matrix's median", () => {
    const cells = [
      cell("a", "b", { rtt_avg: 0.01, loss: 0 }),
      cell("a", "c", { rtt_avg: 0.01, loss: 0 }),
      cell("b", "a", { rtt_avg: 0.02, loss: 0 }),
      cell("b", "c", { rtt_avg: 0.1, loss: 0 }),
      cell("c", "a", { rtt_avg: 0.01, loss: 0.25 }),
      cell("c", "b", { loss: 1 }, "timeout"),
    ];
    const tones = buildMatrix({ check: "mesh", agents, cells }).map((r) => r.map((c) => c.tone));
    expect(tones).toEqual([
      ["self", "good", "good"],
      ["fair", "self", "slow"],
      ["lossy", "down", "self"],
    ]);
  });

  it("does not flag microseconds on a fast network", () => {
    const cells = [cell("a", "b", { rtt_avg: 0.00004 }), cell("b", "a", { rtt_avg: 0.00008 })];
    const rows = buildMatrix({ check: "m", agents: ["a", "b"], cells });
    expect(rows[1]![0]!.tone).toBe("good");
  });

  it("counts total loss as down even when the run says ok", () => {
    const rows = buildMatrix({ check: "m", agents: ["a", "b"], cells: [cell("a", "b", { loss: 1 })] });
    expect(rows[0]![1]!.tone).toBe("down");
  });
});

describe("latencyOf", () => {
  it("prefers the average RTT, then other latencies", () => {
    expect(latencyOf({ rtt_avg: 2, connect_time: 1 })).toBe(2);
    expect(latencyOf({ connect_time: 1 })).toBe(1);
    expect(latencyOf({ loss: 0 })).toBeUndefined();
  });
});
