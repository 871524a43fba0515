// Alerts wherever they show: the live list (read again when the server says
// alerts moved, on a resync, and every 30 s for what other replicas moved),
// the header's bell, and the table with a one-click silence.

import { useEffect, useState } from "preact/hooks";
import { api, problemText, type Schemas } from "../api/client";
import type { LiveStream } from "../api/live";
import { ago } from "../lib/format";

export type Alert = Schemas["AlertView"];

/** How often the list is read without being told (another replica moved it). */
const POLL_MS = 30_000;

/** The alerts that are not ok, kept current. */
export function useAlerts(live: LiveStream): { alerts: Alert[]; error: string; reload: () => void } {
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [error, setError] = useState("");
  const load = async () => {
    const { data, error } = await api.GET("/api/v1/alerts");
    if (data) {
      setAlerts(data);
      setError("");
    } else setError(problemText(error));
  };
  useEffect(() => {
    load();
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Several steps routed together are read once.
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(load, 200);
    };
    const poll = setInterval(load, POLL_MS);
    const stop = live.listen((event) => {
      if (event.type === "alerts" || event.type === "resync") soon();
    });
    return () => {
      stop();
      clearTimeout(timer);
      clearInterval(poll);
    };
  }, [live]);
  return { alerts, error, reload: load };
}

/** Whether an alert is raised: notified as firing and not resolved. */
export function isFiring(a: Alert): boolean {
  return a.state === "firing" || a.state === "recovering";
}

/** The header's bell: how many alerts fire, a link to them. */
export function AlertBell({ live }: { live: LiveStream }) {
  const { alerts } = useAlerts(live);
  const firing = alerts.filter(isFiring).length;
  return (
    <a
      class="navbar-item"
      href="/alerts"
      data-testid="alert-bell"
      data-firing={firing}
      aria-label={`Alerts: ${firing} firing`}
      title={`${firing} firing`}
    >
      <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="currentColor">
        <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
      </svg>
      <span class={`tag ml-1 ${firing > 0 ? "is-danger" : "is-success"}`}>{firing}</span>
    </a>
  );
}

const STATE_TAG: Record<Alert["state"], string> = {
  ok: "is-success",
  pending: "is-warning",
  firing: "is-danger",
  recovering: "is-info",
  no_data: "is-dark",
  error: "is-warning is-light",
};

export function StateTag({ state }: { state: Alert["state"] }) {
  return <span class={`tag ${STATE_TAG[state]}`}>{state.replace("_", " ")}</span>;
}

/** `check → target`, or the agent for its own alert. */
export function what(a: { check: string; target: string; agent?: string | null }): string {
  return a.check ? `${a.check} → ${a.target}` : `agent ${a.agent ?? ""}`;
}

/** The silence of exactly this alert: its rule, and its check, target and agent where it has them. */
function silenceOf(a: Alert): Schemas["AlertMatch"] {
  const m: Schemas["AlertMatch"] = { rule: a.rule };
  if (a.check) {
    m.check = a.check;
    m.target = a.target;
  }
  if (a.agent) m.agent = a.agent;
  return m;
}

/** Alerts as a table; operators silence one for an hour in one click. */
export function AlertTable({
  alerts,
  now,
  canSilence,
  label,
  onChange,
}: {
  alerts: Alert[];
  now: number;
  canSilence: boolean;
  label: string;
  onChange?: () => void;
}) {
  const [message, setMessage] = useState("");
  const silence = async (a: Alert) => {
    const { error } = await api.POST("/api/v1/alerts/silences", {
      body: {
        match: silenceOf(a),
        ends_at: new Date(Date.now() + 3600_000).toISOString(),
        comment: `Silenced from the dashboard: ${what(a)}`,
      },
    });
    setMessage(error ? `Not silenced: ${problemText(error)}.` : `Silenced ${a.rule} on ${what(a)} for an hour.`);
    onChange?.();
  };
  if (alerts.length === 0) return <p class="has-text-grey" data-testid="no-alerts">No alert is raised.</p>;
  return (
    <div class="table-container">
      {message && <p role="status">{message}</p>}
      <table class="table is-fullwidth is-hoverable" aria-label={label}>
        <thead>
          <tr>
            <th>State</th>
            <th>Rule</th>
            <th>What</th>
            <th>Agents</th>
            <th>Since</th>
            <th>Value</th>
            {canSilence && <th />}
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={`${a.rule}|${a.agent_id ?? ""}|${a.check}|${a.target}`} data-testid={`alert-${a.rule}`}>
              <td>
                <StateTag state={a.state} />
                {a.flapping && <span class="tag is-warning ml-1">flapping</span>}
              </td>
              <td class="mono">{a.rule}</td>
              <td class="mono">{what(a)}</td>
              <td>{a.agent ?? a.agents.join(", ")}</td>
              <td title={a.since}>{ago(a.since, now)}</td>
              <td class="mono">{a.value ?? "–"}</td>
              {canSilence && (
                <td>
                  <button type="button" class="button is-small" onClick={() => silence(a)}>
                    Silence 1 h
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
