// Alert rules (operators create and edit them in a form, `rule-editor`;
// the server names every bad field) and channels (a test button and the delivery log of each).

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";
import { clock } from "../lib/format";
import { useNow } from "../components/now";
import { RuleEditor } from "./rule-editor";

type Rule = Schemas["RuleView"];
type Channel = Schemas["ChannelView"];
type Attempt = Schemas["Attempt"];

export function AlertRulesPage({ session }: { session: BrowserSession }) {
  const [rules, setRules] = useState<Rule[]>([]);
  const [error, setError] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const load = async () => {
    const { data, error } = await api.GET("/api/v1/alerts/rules");
    if (data) setRules(data);
    else setError(problemText(error));
  };
  useEffect(() => {
    load();
  }, []);
  const operator = session.role !== "viewer";
  return (
    <div class="container is-fluid">
      <nav class="breadcrumb" aria-label="Breadcrumbs">
        <ul>
          <li>
            <a href="/alerts">Alerts</a>
          </li>
          <li class="is-active">
            <a aria-current="page">Rules and channels</a>
          </li>
        </ul>
      </nav>
      <h1 class="title">Alert rules</h1>
      {error && (
        <div class="notification is-danger" role="alert">
          Could not read the rules: {error}.
        </div>
      )}
      <table class="table is-fullwidth" aria-label="Alert rules">
        <thead>
          <tr>
            <th>Name</th>
            <th>Condition</th>
            <th>Selects</th>
            <th>Revision</th>
            {operator && <th />}
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.spec.name} data-testid={`rule-${r.spec.name}`}>
              <td class="mono">{r.spec.name}</td>
              <td class="mono">{r.spec.condition.kind}</td>
              <td class="mono">{JSON.stringify(r.spec.select ?? {})}</td>
              <td>{r.revision}</td>
              {operator && (
                <td>
                  <button type="button" class="button is-small" onClick={() => setEditing(r.spec.name)}>
                    Edit
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {operator && (
        <RuleEditor
          key={editing ?? ""}
          rule={rules.find((r) => r.spec.name === editing) ?? null}
          onSaved={() => {
            setEditing(null);
            load();
          }}
        />
      )}
      <Channels session={session} />
    </div>
  );
}

/** Channels: a test send and the delivery log, without their secrets. */
function Channels({ session }: { session: BrowserSession }) {
  const [channels, setChannels] = useState<Channel[]>([]);
  const [outcome, setOutcome] = useState<Record<string, string>>({});
  const [log, setLog] = useState<{ name: string; attempts: Attempt[] } | null>(null);
  const now = useNow(5000);
  useEffect(() => {
    api.GET("/api/v1/alerts/channels").then(({ data }) => data && setChannels(data));
  }, []);
  const test = async (name: string) => {
    const { data, error } = await api.POST("/api/v1/alerts/channels/{name}/test", { params: { path: { name } } });
    const said = data
      ? data.ok
        ? `delivered (${data.status ?? "ok"}, ${data.latency_ms} ms)`
        : `failed: ${data.error ?? data.status}`
      : problemText(error);
    setOutcome((o) => ({ ...o, [name]: said }));
  };
  const deliveries = async (name: string) => {
    const { data, error } = await api.GET("/api/v1/alerts/channels/{name}/deliveries", { params: { path: { name } } });
    if (data) setLog({ name, attempts: data });
    else setOutcome((o) => ({ ...o, [name]: problemText(error) }));
  };
  return (
    <section class="mt-5">
      <h2 class="title is-5">Channels</h2>
      {channels.length === 0 && <p class="has-text-grey">No channel yet (admins add them over the API or `vantage alerts apply`).</p>}
      {channels.map((c) => (
        <div class="box" key={c.spec.name} data-testid={`channel-${c.spec.name}`}>
          <p>
            <strong class="mono">{c.spec.name}</strong> <span class="tag">{c.spec.kind}</span>{" "}
            {c.secrets_set.length > 0 && <span class="tag is-light">secrets set: {c.secrets_set.join(", ")}</span>}
          </p>
          <div class="buttons mt-2">
            {session.role !== "viewer" && (
              <button type="button" class="button is-small" onClick={() => test(c.spec.name)}>
                Send a test
              </button>
            )}
            <button type="button" class="button is-small" onClick={() => deliveries(c.spec.name)}>
              Delivery log
            </button>
          </div>
          {outcome[c.spec.name] && <p role="status">Test: {outcome[c.spec.name]}</p>}
          {log?.name === c.spec.name && (
            <table class="table is-narrow is-fullwidth" aria-label={`Deliveries of ${c.spec.name}`}>
              <thead>
                <tr>
                  <th>When</th>
                  <th>Step</th>
                  <th>Attempt</th>
                  <th>Answer</th>
                  <th>Latency</th>
                </tr>
              </thead>
              <tbody>
                {log.attempts.map((a) => (
                  <tr key={`${a.event_id}-${a.attempt}`}>
                    <td>{clock(a.at, now)}</td>
                    <td>{a.event_id}</td>
                    <td>{a.attempt}</td>
                    <td>{a.ok ? `${a.status ?? "ok"}` : `${a.status ?? ""} ${a.error ?? ""}`}</td>
                    <td>{a.latency_ms} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </section>
  );
}
