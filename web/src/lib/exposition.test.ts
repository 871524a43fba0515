import { describe, expect, it } from "vitest";
import { parseExposition, perSecond, quantile, type Reading, total } from "./exposition";

const text = (results: number, fast: number, slow: number) => `# HELP vantage_ingest_results_total Results.
# TYPE vantage_ingest_results_total counter
vantage_ingest_results_total{outcome="stored"} ${results}
vantage_ingest_results_total{outcome="duplicate"} 2
vantage_db_pool_connections{state="busy"} 3
vantage_http_request_duration_seconds_bucket{route="/a",method="GET",le="0.01"} ${fast}
vantage_http_request_duration_seconds_bucket{route="/a",method="GET",le="0.1"} ${fast + slow}
vantage_http_request_duration_seconds_bucket{route="/a",method="GET",le="+Inf"} ${fast + slow}
weird{path="a\\"b"} 1
not a sample
`;

describe("parseExposition", () => {
  it("reads samples with labels, unescaped, and skips comments and junk", () => {
    const s = parseExposition(text(10, 1, 1));
    expect(s).toHaveLength(7);
    expect(s[0]).toEqual({ name: "vantage_ingest_results_total", labels: { outcome: "stored" }, value: 10 });
    expect(s[6]!.labels.path).toBe('a"b');
    expect(total(s, "vantage_ingest_results_total")).toBe(12);
    expect(total(s, "vantage_ingest_results_total", { outcome: "stored" })).toBe(10);
    expect(total(s, "missing")).toBeUndefined();
  });
});

describe("rates and quantiles between two readings", () => {
  const before: Reading = { at: 0, samples: parseExposition(text(10, 100, 0)) };
  const now: Reading = { at: 5000, samples: parseExposition(text(60, 190, 10)) };
  it("gives a counter's change per second", () => {
    expect(perSecond(before, now, "vantage_ingest_results_total", { outcome: "stored" })).toBe(10);
    expect(perSecond(undefined, now, "vantage_ingest_results_total")).toBeUndefined();
    expect(perSecond(now, before, "vantage_ingest_results_total")).toBeUndefined();
  });
  it("interpolates a quantile of the new observations within its bucket", () => {
    // 90 new observations ≤ 10 ms and 10 between 10 and 100 ms.
    expect(quantile(before, now, "vantage_http_request_duration_seconds", 0.5)).toBeCloseTo(0.01 * (50 / 90));
    expect(quantile(before, now, "vantage_http_request_duration_seconds", 0.95)).toBeCloseTo(0.01 + 0.09 * 0.5);
    expect(quantile(now, now, "vantage_http_request_duration_seconds", 0.5)).toBeUndefined();
  });
});
