// The rule editor: a form with an input per setting, each bad field the
// server names shown under its input, and the same rule as JSON for
// those who would rather write it (docs/alerting.md).

import { useState } from "preact/hooks";
import type { JSX } from "preact";
import { api, problemText, type Schemas } from "../api/client";
import {
  emptyForm,
  errorsOf,
  type FieldError,
  fromForm,
  KINDS,
  type RuleForm,
  toForm,
  unplaced,
  visibleInputs,
} from "../lib/rule-form";

type Rule = Schemas["RuleView"];
type Spec = Schemas["RuleSpec"];

export function RuleEditor({ rule, onSaved }: { rule: Rule | null; onSaved: () => void }) {
  const [form, setForm] = useState<RuleForm>(rule ? toForm(rule.spec) : emptyForm());
  // The rule as JSON while the JSON view is open.
  const [json, setJson] = useState<string | null>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState("");

  const save = async (e: Event) => {
    e.preventDefault();
    setErrors([]);
    let spec: Spec;
    if (json !== null) {
      try {
        spec = JSON.parse(json);
      } catch (err) {
        setMessage(`Not JSON: ${(err as Error).message}.`);
        return;
      }
    } else {
      const read = fromForm(form);
      if (read.errors.length > 0) {
        setErrors(read.errors);
        setMessage("Not saved: the fields marked are not valid.");
        return;
      }
      spec = read.spec;
    }
    const { data, error } = await api.PUT("/api/v1/alerts/rules/{name}", {
      params: { path: { name: spec.name ?? "" } },
      body: spec,
    });
    if (data) {
      setMessage(`Saved ${data.spec.name} (revision ${data.revision}).`);
      onSaved();
      return;
    }
    const problem = error as { errors?: FieldError[] } | undefined;
    setErrors(problem?.errors ?? []);
    setMessage(`Not saved: ${problemText(error)}.`);
  };
  const remove = async () => {
    if (!rule) return;
    const { error } = await api.DELETE("/api/v1/alerts/rules/{name}", { params: { path: { name: rule.spec.name } } });
    setMessage(error ? `Not deleted: ${problemText(error)}.` : `Deleted ${rule.spec.name}.`);
    if (!error) onSaved();
  };
  const showJson = () => {
    setErrors([]);
    setJson(JSON.stringify(fromForm(form).spec, null, 2));
  };
  const showForm = () => {
    try {
      setForm(toForm(JSON.parse(json ?? "{}")));
      setJson(null);
      setMessage("");
    } catch (err) {
      setMessage(`Not JSON: ${(err as Error).message}.`);
    }
  };

  // One input of the form, its label, hint and errors.
  const shown = visibleInputs(form.kind);
  const input = (key: keyof RuleForm, label: string, hint?: string, control?: JSX.Element) => {
    if (!shown.includes(key)) return null;
    const mine = errorsOf(errors, key);
    const id = `rule-${key}`;
    const set = (e: Event) => setForm((f) => ({ ...f, [key]: (e.currentTarget as HTMLInputElement).value }));
    return (
      <div class="field">
        <label class="label is-small" for={id}>
          {label}
        </label>
        <div class="control">
          {control ?? (
            <input
              id={id}
              class={`input is-small${mine.length > 0 ? " is-danger" : ""}`}
              value={form[key]}
              placeholder={hint}
              disabled={key === "name" && rule !== null}
              aria-invalid={mine.length > 0}
              aria-describedby={mine.length > 0 ? `${id}-errors` : undefined}
              onInput={set}
            />
          )}
        </div>
        {mine.length > 0 && (
          <p class="help is-danger" id={`${id}-errors`} data-testid={`${id}-errors`}>
            {mine.map((e) => `${e.field}: ${e.reason}`).join("; ")}
          </p>
        )}
      </div>
    );
  };
  const choose = (key: "kind" | "op", options: [string, string][]) => (
    <div class="select is-small">
      <select
        id={`rule-${key}`}
        value={form[key]}
        onChange={(e) => setForm((f) => ({ ...f, [key]: e.currentTarget.value }))}
      >
        {options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
  // The errors no input shows: all of them while the JSON is open.
  const listed = json !== null ? errors : unplaced(errors, form.kind);

  return (
    <form class="box" onSubmit={save} aria-label="Rule editor">
      <h2 class="title is-5">{rule ? `Edit ${rule.spec.name}` : "New rule"}</h2>
      {json === null ? (
        <div class="columns">
          <fieldset class="column">
            <legend class="has-text-weight-semibold mb-2">What it judges</legend>
            {input("name", "Name", "web-down")}
            {input("check", "Check (name or glob)", "web-*")}
            {input("target", "Target (name or glob)", "10.0.*")}
            {input("plugin", "Plugin", "http")}
            {input("groups", "Agent groups (any of, comma-separated)", "core, edge")}
            {input("labels", "Agent labels (key=value, comma-separated)", "site=ams")}
          </fieldset>
          <fieldset class="column">
            <legend class="has-text-weight-semibold mb-2">When a result is bad</legend>
            {input("kind", "Condition", undefined, choose("kind", KINDS.map((k) => [k.kind, k.label])))}
            {input("metric", "Metric", "loss")}
            {input("aggregate", "Aggregate (last, avg, min, max, sum, p1…p99)", "last")}
            {input(
              "op",
              "Comparison",
              undefined,
              choose("op", [">", ">=", "<", "<="].map((o) => [o, o])),
            )}
            {input("value", "Limit (in the metric's base unit: seconds, ratio…)", "0.05")}
            {input("window", "Window (for an aggregate)", "5m")}
            {input("intervals", "Check intervals without a result", "3")}
            {input("days", "Days before the certificate expires", "14")}
          </fieldset>
          <fieldset class="column">
            <legend class="has-text-weight-semibold mb-2">When it fires</legend>
            {input("failure_threshold", "Bad results in a row", "1")}
            {input("k", "k of m: bad results (k)", "3")}
            {input("m", "k of m: of the last (m)", "5")}
            {input("hold", "For (bad at least this long)", "2m")}
            {input("success_threshold", "Good results in a row that resolve", "1")}
            {input("keep_firing_for", "Keep firing for", "5m")}
            {input("min_agents", "Quorum: agents failing (number or share)", "60%")}
            {input("repeat_interval", "Tell again every", "4h")}
            {input("depends_on", "Depends on checks (comma-separated)", "gateway-*")}
          </fieldset>
        </div>
      ) : (
        <div class="field">
          <label class="label" for="rule-json">
            The rule as JSON (as in docs/alerting.md)
          </label>
          <textarea
            id="rule-json"
            class="textarea mono"
            rows={12}
            value={json}
            onInput={(e) => setJson(e.currentTarget.value)}
          />
        </div>
      )}
      <div class="buttons mt-2">
        <button type="submit" class="button is-primary">
          Save rule
        </button>
        {json === null ? (
          <button type="button" class="button is-light" onClick={showJson}>
            Edit as JSON
          </button>
        ) : (
          <button type="button" class="button is-light" onClick={showForm}>
            Back to the form
          </button>
        )}
        {rule && (
          <button type="button" class="button is-danger is-light" onClick={remove}>
            Delete rule
          </button>
        )}
      </div>
      {message && <p role="status">{message}</p>}
      {listed.length > 0 && (
        <ul class="has-text-danger" aria-label="Rule errors">
          {listed.map((e) => (
            <li key={e.field}>
              <span class="mono">{e.field}</span>: {e.reason}
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
