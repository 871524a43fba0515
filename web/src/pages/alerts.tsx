// Alerts: the ones raised now (filtered by state and rule, silenced in one
// click), the history of every step with what kept it from the channels,
// the silences and the maintenance windows.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";
import type { LiveStream } from "../api/live";
import { AlertTable, StateTag, useAlerts, what } from "../components/alerts";
import { useNow } from "../components/now";
import { ago, clock } from "../lib/format";
import { useLocation } from "../router";

type Step = Schemas["AlertEventView"];
type Silence = Schemas["SilenceView"];
type Window = Schemas["WindowView"];

const STATES = ["pending", "firing", "recovering", "no_data", "error"] as const;

export function AlertsPage({ session, live }: { session: BrowserSession; live: LiveStream }) {
  const { alerts, error, reload } = useAlerts(live);
  const [state, setState] = useState("");
  // Notifications link here with `?rule=`.
  const [rule, setRule] = useState(useLocation().query.get("rule") ?? "");
  const [silenced, setSilenced] = useState(0);
  const now = useNow(5000);
  const shown = alerts.filter((a) => (!state || a.state === state) && a.rule.includes(rule.trim()));
  const operator = session.role !== "viewer";
  return (
    <div class="container is-fluid">
      <h1 class="title">Alerts</h1>
      <p class="mb-4">
        <a href="/alerts/rules">Rules, channels and routes</a>
      </p>
      {error && (
        <div class="notification is-danger" role="alert">
          Could not read the alerts: {error}.
        </div>
      )}
      <form class="field is-grouped" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
        <div class="control">
          <div class="select is-small">
            <select aria-label="State" value={state} onChange={(e) => setState(e.currentTarget.value)}>
              <option value="">every state</option>
              {STATES.map((s) => (
                <option value={s}>{s.replace("_", " ")}</option>
              ))}
            </select>
          </div>
        </div>
        <div class="control">
          <input
            class="input is-small"
            aria-label="Rule"
            placeholder="rule"
            value={rule}
            onInput={(e) => setRule(e.currentTarget.value)}
          />
        </div>
      </form>
      <AlertTable
        alerts={shown}
        now={now}
        canSilence={operator}
        label="Raised alerts"
        onChange={() => {
          reload();
          setSilenced((n) => n + 1);
        }}
      />
      <Silences operator={operator} now={now} changed={silenced} />
      <Windows operator={operator} now={now} />
      <History live={live} now={now} />
    </div>
  );
}

/** Every step, newest first, a page at a time. */
function History({ live, now }: { live: LiveStream; now: number }) {
  const [steps, setSteps] = useState<Step[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState("");
  const page = async (before?: number) => {
    const { data, error } = await api.GET("/api/v1/alerts/history", {
      params: { query: { limit: 50, ...(before ? { before } : {}) } },
    });
    if (!data) {
      setError(problemText(error));
      return;
    }
    setSteps((prev) => (before ? [...prev, ...data] : data));
    setMore(data.length === 50);
  };
  useEffect(() => {
    page();
    return live.listen((event) => {
      if (event.type === "alerts" || event.type === "resync") page();
    });
  }, [live]);
  return (
    <section class="mt-5">
      <h2 class="title is-5">History</h2>
      {error && <p role="alert">Could not read the history: {error}.</p>}
      <div class="table-container">
        <table class="table is-fullwidth is-narrow" aria-label="Alert history">
          <thead>
            <tr>
              <th>When</th>
              <th>Rule</th>
              <th>What</th>
              <th>Agents</th>
              <th>Step</th>
              <th>Told</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.id}>
                <td title={s.at}>{clock(s.at, now)}</td>
                <td class="mono">{s.rule}</td>
                <td class="mono">{what(s)}</td>
                <td>{s.agent ?? s.agents.join(", ")}</td>
                <td>
                  <StateTag state={s.from} /> → <StateTag state={s.to} />
                </td>
                <td>{told(s)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more && (
        <button type="button" class="button is-small" onClick={() => page(steps[steps.length - 1]?.id)}>
          Older
        </button>
      )}
    </section>
  );
}

/** A silence's or window's match, `rule=… check=…`. */
function matches(m: Schemas["AlertMatch"]): string {
  return Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** What a step told, or what kept it quiet. */
function told(s: Step): string {
  if (s.notices.length === 0) return "–";
  const notices = s.repeat_every ? `${s.notices.join(", ")}, reminder every ${s.repeat_every}` : s.notices.join(", ");
  if (s.silenced_by) return `${notices} (silenced)`;
  if (s.suppressed_by) return `${notices} (suppressed: ${s.suppressed_by})`;
  return notices;
}

/** The silences on or to come; operators end one. */
function Silences({ operator, now, changed }: { operator: boolean; now: number; changed: number }) {
  const [silences, setSilences] = useState<Silence[]>([]);
  const [message, setMessage] = useState("");
  const load = async () => {
    const { data, error } = await api.GET("/api/v1/alerts/silences");
    if (data) setSilences(data);
    else setMessage(`Could not read the silences: ${problemText(error)}.`);
  };
  useEffect(() => {
    load();
  }, [changed]);
  const end = async (s: Silence) => {
    const { error } = await api.DELETE("/api/v1/alerts/silences/{id}", { params: { path: { id: s.id } } });
    setMessage(error ? `Not ended: ${problemText(error)}.` : "Ended.");
    load();
  };
  return (
    <section class="mt-5">
      <h2 class="title is-5">Silences</h2>
      {message && <p role="status">{message}</p>}
      {silences.length === 0 ? (
        <p class="has-text-grey">No silence is on.</p>
      ) : (
        <table class="table is-fullwidth is-narrow" aria-label="Silences">
          <thead>
            <tr>
              <th>Matches</th>
              <th>Until</th>
              <th>Why</th>
              <th>By</th>
              {operator && <th />}
            </tr>
          </thead>
          <tbody>
            {silences.map((s) => (
              <tr key={s.id} data-testid="silence">
                <td class="mono">
                  {matches(s.match)}
                </td>
                <td title={s.ends_at}>{clock(s.ends_at, now)}</td>
                <td>{s.comment}</td>
                <td>
                  {s.author} ({ago(s.created_at, now)})
                </td>
                {operator && (
                  <td>
                    <button type="button" class="button is-small" onClick={() => end(s)}>
                      End now
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Maintenance windows: open now or when they next open; operators delete them. */
function Windows({ operator, now }: { operator: boolean; now: number }) {
  const [windows, setWindows] = useState<Window[]>([]);
  const [message, setMessage] = useState("");
  const load = async () => {
    const { data, error } = await api.GET("/api/v1/alerts/windows");
    if (data) setWindows(data);
    else setMessage(`Could not read the maintenance windows: ${problemText(error)}.`);
  };
  useEffect(() => {
    load();
  }, []);
  const remove = async (w: Window) => {
    const { error } = await api.DELETE("/api/v1/alerts/windows/{name}", { params: { path: { name: w.spec.name } } });
    setMessage(error ? `Not deleted: ${problemText(error)}.` : `Deleted ${w.spec.name}.`);
    load();
  };
  return (
    <section class="mt-5">
      <h2 class="title is-5">Maintenance windows</h2>
      {message && <p role="status">{message}</p>}
      {windows.length === 0 ? (
        <p class="has-text-grey">No maintenance window (operators add them over the API or `vantage alerts apply`).</p>
      ) : (
        <table class="table is-fullwidth is-narrow" aria-label="Maintenance windows">
          <thead>
            <tr>
              <th>Name</th>
              <th>Matches</th>
              <th>Schedule</th>
              <th>Now</th>
              <th>Why</th>
              {operator && <th />}
            </tr>
          </thead>
          <tbody>
            {windows.map((w) => (
              <tr key={w.spec.name} data-testid={`window-${w.spec.name}`}>
                <td class="mono">{w.spec.name}</td>
                <td class="mono">
                  {matches(w.spec.match)}
                </td>
                <td class="mono">
                  {w.spec.schedule} ({w.spec.timezone}), {w.spec.duration}
                </td>
                <td>
                  {w.open_since ? (
                    <span class="tag is-warning">open since {clock(w.open_since, now)}</span>
                  ) : w.next_start ? (
                    `opens ${clock(w.next_start, now)}`
                  ) : (
                    "–"
                  )}
                </td>
                <td>{w.spec.comment}</td>
                {operator && (
                  <td>
                    <button type="button" class="button is-small" onClick={() => remove(w)}>
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
