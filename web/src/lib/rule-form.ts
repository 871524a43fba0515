// An alert rule as the rule form holds it (every field a string), to and
// from the RuleSpec the server takes. The browser only says what it can
// already tell (a number that is not one, a label without `=`); the
// server checks the rest and names each bad field, which the form shows
// next to the input the field came from.

import type { Schemas } from "../api/client";

type Spec = Schemas["RuleSpec"];
type Condition = Schemas["Condition"];
export type ConditionKind = Condition["kind"];
export type FieldError = { field: string; reason: string };

/** The condition kinds, in the order the form offers them. */
export const KINDS: { kind: ConditionKind; label: string }[] = [
  { kind: "status", label: "status is not ok" },
  { kind: "threshold", label: "a metric breaks a limit" },
  { kind: "no_data", label: "no data" },
  { kind: "path_change", label: "the path changed" },
  { kind: "cert_expiry", label: "a certificate expires soon" },
  { kind: "agent_offline", label: "the agent is offline" },
];

/** Every input of the form. */
export interface RuleForm {
  name: string;
  check: string;
  target: string;
  plugin: string;
  groups: string;
  labels: string;
  kind: ConditionKind;
  metric: string;
  op: string;
  value: string;
  aggregate: string;
  window: string;
  intervals: string;
  days: string;
  failure_threshold: string;
  k: string;
  m: string;
  hold: string;
  success_threshold: string;
  keep_firing_for: string;
  min_agents: string;
  repeat_interval: string;
  depends_on: string;
}

/** The spec field (or prefix) each input's errors come under. */
export const FIELDS: Partial<Record<keyof RuleForm, string>> = {
  name: "name",
  check: "select.check",
  target: "select.target",
  plugin: "select.plugin",
  groups: "select.groups",
  labels: "select.labels",
  kind: "condition.kind",
  metric: "condition.metric",
  op: "condition.op",
  value: "condition.value",
  aggregate: "condition.aggregate",
  window: "condition.window",
  intervals: "condition.intervals",
  days: "condition.days",
  failure_threshold: "failure_threshold",
  k: "k_of_m",
  hold: "for",
  success_threshold: "success_threshold",
  keep_firing_for: "keep_firing_for",
  min_agents: "min_agents",
  repeat_interval: "repeat_interval",
  depends_on: "depends_on",
};

export function emptyForm(): RuleForm {
  return {
    name: "",
    check: "",
    target: "",
    plugin: "",
    groups: "",
    labels: "",
    kind: "status",
    metric: "",
    op: ">",
    value: "",
    aggregate: "last",
    window: "",
    intervals: "3",
    days: "14",
    failure_threshold: "",
    k: "",
    m: "",
    hold: "",
    success_threshold: "",
    keep_firing_for: "",
    min_agents: "",
    repeat_interval: "",
    depends_on: "",
  };
}

const text = (v: string | number | null | undefined) => (v === null || v === undefined ? "" : String(v));

/** A saved rule in the form. */
export function toForm(spec: Spec): RuleForm {
  const form = emptyForm();
  const select = spec.select ?? {};
  const c = spec.condition;
  Object.assign(form, {
    name: spec.name,
    check: text(select.check),
    target: text(select.target),
    plugin: text(select.plugin),
    groups: (select.groups ?? []).join(", "),
    labels: Object.entries(select.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(", "),
    kind: c.kind,
    failure_threshold: text(spec.failure_threshold),
    k: text(spec.k_of_m?.[0]),
    m: text(spec.k_of_m?.[1]),
    hold: text(spec.for),
    success_threshold: text(spec.success_threshold),
    keep_firing_for: text(spec.keep_firing_for),
    min_agents: text(spec.min_agents as string | number | null | undefined),
    repeat_interval: text(spec.repeat_interval),
    depends_on: (spec.depends_on ?? []).join(", "),
  });
  if (c.kind === "threshold") {
    Object.assign(form, {
      metric: c.metric,
      op: c.op,
      value: text(c.value),
      aggregate: text(c.aggregate as string | undefined) || "last",
      window: text(c.window),
    });
  } else if (c.kind === "no_data") {
    form.intervals = text(c.intervals);
  } else if (c.kind === "cert_expiry") {
    form.days = text(c.days);
  }
  return form;
}

/** A comma-separated list, blanks dropped. */
function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * The spec the form says, and what is already wrong with it (under the
 * spec's field names, as the server would name them).
 */
export function fromForm(form: RuleForm): { spec: Spec; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const whole = (field: string, value: string): number | undefined => {
    if (value.trim() === "") return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      errors.push({ field, reason: "must be a whole number" });
      return undefined;
    }
    return n;
  };
  const optional = (value: string) => (value.trim() === "" ? undefined : value.trim());

  const labels: Record<string, string> = {};
  for (const pair of list(form.labels)) {
    const at = pair.indexOf("=");
    if (at <= 0) {
      errors.push({ field: "select.labels", reason: `\`${pair}\` is not key=value` });
      continue;
    }
    labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  const select: NonNullable<Spec["select"]> = {};
  if (optional(form.check)) select.check = optional(form.check);
  if (optional(form.target)) select.target = optional(form.target);
  if (optional(form.plugin)) select.plugin = optional(form.plugin);
  if (list(form.groups).length > 0) select.groups = list(form.groups);
  if (Object.keys(labels).length > 0) select.labels = labels;

  let condition: Condition;
  switch (form.kind) {
    case "threshold": {
      const value = Number(form.value);
      if (form.value.trim() === "" || !Number.isFinite(value)) {
        errors.push({ field: "condition.value", reason: "must be a number" });
      }
      condition = {
        kind: "threshold",
        metric: form.metric.trim(),
        op: form.op as "<" | "<=" | ">" | ">=",
        value,
        aggregate: form.aggregate.trim() || "last",
        ...(optional(form.window) ? { window: optional(form.window) } : {}),
      };
      break;
    }
    case "no_data":
      condition = { kind: "no_data", intervals: whole("condition.intervals", form.intervals) ?? 0 };
      break;
    case "cert_expiry":
      condition = { kind: "cert_expiry", days: whole("condition.days", form.days) ?? 0 };
      break;
    default:
      condition = { kind: form.kind } as Condition;
  }

  const spec: Spec = { name: form.name.trim(), select, condition };
  const failure = whole("failure_threshold", form.failure_threshold);
  if (failure !== undefined) spec.failure_threshold = failure;
  const k = whole("k_of_m", form.k);
  const m = whole("k_of_m", form.m);
  if (k !== undefined && m !== undefined) spec.k_of_m = [k, m];
  else if ((form.k.trim() === "") !== (form.m.trim() === "")) {
    errors.push({ field: "k_of_m", reason: "give both k and m" });
  }
  if (optional(form.hold)) spec.for = optional(form.hold);
  const success = whole("success_threshold", form.success_threshold);
  if (success !== undefined) spec.success_threshold = success;
  if (optional(form.keep_firing_for)) spec.keep_firing_for = optional(form.keep_firing_for);
  const quorum = optional(form.min_agents);
  if (quorum !== undefined) {
    // A number of agents, or a share the server reads (`60%`).
    spec.min_agents = (/^\d+$/.test(quorum) ? Number(quorum) : quorum) as Spec["min_agents"];
  }
  if (optional(form.repeat_interval)) spec.repeat_interval = optional(form.repeat_interval);
  if (list(form.depends_on).length > 0) spec.depends_on = list(form.depends_on);
  return { spec, errors };
}

/** The errors of one input: its field, or anything under it. */
export function errorsOf(errors: FieldError[], input: keyof RuleForm): FieldError[] {
  const field = FIELDS[input];
  if (!field) return [];
  return errors.filter(
    (e) =>
      e.field === field ||
      e.field.startsWith(`${field}.`) ||
      e.field.startsWith(`${field}[`) ||
      // A condition refused whole (an unknown kind) is the kind's.
      (input === "kind" && e.field === "condition"),
  );
}

/** The errors no input of the form shows (the rest go next to theirs). */
export function unplaced(errors: FieldError[], kind: ConditionKind): FieldError[] {
  const shown = visibleInputs(kind);
  return errors.filter((e) => !shown.some((input) => errorsOf([e], input).length > 0));
}

/** The inputs the form shows for a condition kind. */
export function visibleInputs(kind: ConditionKind): (keyof RuleForm)[] {
  const base: (keyof RuleForm)[] = [
    "name",
    "kind",
    "check",
    "target",
    "plugin",
    "groups",
    "labels",
    "failure_threshold",
    "k",
    "hold",
    "success_threshold",
    "keep_firing_for",
    "min_agents",
    "repeat_interval",
    "depends_on",
  ];
  const byKind: Record<ConditionKind, (keyof RuleForm)[]> = {
    status: [],
    threshold: ["metric", "op", "value", "aggregate", "window"],
    no_data: ["intervals"],
    path_change: [],
    cert_expiry: ["days"],
    agent_offline: [],
  };
  return [...base, ...byKind[kind]];
}
