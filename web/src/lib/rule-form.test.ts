import { describe, expect, it } from "vitest";
import { emptyForm, errorsOf, fromForm, toForm, unplaced } from "./rule-form";

describe("the rule form", () => {
  it("gives back every setting of a saved rule unchanged", () => {
    const spec = {
      name: "core-loss",
      select: { check: "ping-*", target: "10.0.*", plugin: "ping", groups: ["core", "edge"], labels: { site: "ams" } },
      condition: { kind: "threshold" as const, metric: "rtt", op: ">" as const, value: 0.08, aggregate: "p95", window: "5m" },
      k_of_m: [3, 5],
      for: "2m",
      success_threshold: 2,
      keep_firing_for: "5m",
      min_agents: "60%",
      repeat_interval: "4h",
      depends_on: ["gw-*"],
    };
    const { spec: back, errors } = fromForm(toForm(spec));
    expect(errors).toEqual([]);
    expect(back).toEqual(spec);

    const count = { name: "quorum", select: {}, condition: { kind: "no_data" as const, intervals: 3 }, min_agents: 3, failure_threshold: 2 };
    expect(fromForm(toForm(count)).spec).toEqual(count);
    const cert = { name: "certs", select: {}, condition: { kind: "cert_expiry" as const, days: 21 } };
    expect(fromForm(toForm(cert)).spec).toEqual(cert);
  });

  it("names what the browser can tell is wrong, as the server would", () => {
    const form = {
      ...emptyForm(),
      name: "bad",
      kind: "threshold" as const,
      value: "eighty",
      labels: "site=ams, rack",
      failure_threshold: "2.5",
      k: "3",
    };
    const fields = fromForm(form).errors.map((e) => e.field);
    expect(fields).toEqual(["select.labels", "condition.value", "failure_threshold", "k_of_m"]);
  });

  it("puts each server error next to its input, the rest below", () => {
    const errors = [
      { field: "select.groups[1]", reason: "`x y` is not a group name" },
      { field: "condition.metric", reason: "is required" },
      { field: "condition", reason: "unknown kind" },
      { field: "for", reason: "must be at most 7 days" },
      { field: "condition.days", reason: "must be at least 1" },
    ];
    expect(errorsOf(errors, "groups").map((e) => e.field)).toEqual(["select.groups[1]"]);
    expect(errorsOf(errors, "metric").map((e) => e.field)).toEqual(["condition.metric"]);
    expect(errorsOf(errors, "kind").map((e) => e.field)).toEqual(["condition"]);
    expect(errorsOf(errors, "hold").map((e) => e.field)).toEqual(["for"]);
    // A threshold form has no `days` input: that error is listed below.
    expect(unplaced(errors, "threshold").map((e) => e.field)).toEqual(["condition.days"]);
    expect(unplaced(errors, "cert_expiry").map((e) => e.field)).toEqual(["condition.metric"]);
  });
});
