// Events: what checks saw as text (matched log lines), newest first,
// searched by agent, check and text over a time range, a page at a time.

import { useEffect, useState } from "preact/hooks";
import { api, problemText } from "../api/client";
import { type Agent, allAgents, latestResults } from "../lib/data";
import { EVENT_RANGES, type EventSearch, eventQuery, searchFromQuery, searchPath } from "../lib/events";
import { EventList, type EventView } from "../components/event-list";
import { navigate, useLocation } from "../router";

export function EventsPage() {
  const { query } = useLocation();
  const applied = searchFromQuery(query);
  const key = searchPath(applied);
  const [form, setForm] = useState<EventSearch>(applied);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [checks, setChecks] = useState<string[]>([]);
  const [events, setEvents] = useState<EventView[]>([]);
  const [next, setNext] = useState<number | null>(null);
  // The end of the range, fixed when the search is made, so that older
  // pages continue the same list.
  const [to, setTo] = useState(() => new Date());
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    allAgents()
      .then(setAgents)
      .catch(() => {});
    latestResults()
      .then((rows) => setChecks([...new Set(rows.map((r) => r.check))].sort()))
      .catch(() => {});
  }, []);

  const load = async (end: Date, before?: number) => {
    setLoading(true);
    const { data, error } = await api.GET("/api/v1/events", { params: { query: eventQuery(applied, end, before) } });
    setLoading(false);
    if (!data) {
      setError(problemText(error));
      return;
    }
    setError("");
    setEvents((old) => (before === undefined ? data.events : [...old, ...data.events]));
    setNext(data.next ?? null);
  };
  useEffect(() => {
    setForm(applied);
    const end = new Date();
    setTo(end);
    load(end);
  }, [key]);

  const field = (name: keyof EventSearch) => ({
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const submit = (e: Event) => {
    e.preventDefault();
    const path = searchPath(form);
    if (path === location.pathname + location.search) load(new Date());
    else navigate(path);
  };

  return (
    <div class="container is-fluid">
      <h1 class="title">Events</h1>
      <p class="subtitle is-6">What checks saw as text (matched log lines), newest first.</p>
      <form class="field is-grouped is-grouped-multiline" onSubmit={submit} aria-label="Search events">
        <div class="control">
          <label class="label" for="events-agent">
            Agent
          </label>
          <div class="select">
            <select id="events-agent" {...field("agent_id")} onChange={field("agent_id").onInput}>
              <option value="">Any agent</option>
              {agents.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="control">
          <label class="label" for="events-check">
            Check
          </label>
          <input id="events-check" class="input" list="events-checks" placeholder="any check" {...field("check")} />
          <datalist id="events-checks">
            {checks.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </div>
        <div class="control">
          <label class="label" for="events-q">
            Text contains
          </label>
          <input id="events-q" class="input mono" maxLength={256} placeholder="ERROR" {...field("q")} />
        </div>
        <div class="control">
          <label class="label" for="events-range">
            Over the last
          </label>
          <div class="select">
            <select id="events-range" {...field("range")} onChange={field("range").onInput}>
              {EVENT_RANGES.map((r) => (
                <option key={r.key} value={r.key}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="control is-align-self-flex-end">
          <button type="submit" class="button is-primary">
            Search
          </button>
        </div>
      </form>
      {applied.target && (
        <p class="block">
          Target <span class="mono">{applied.target}</span> only ·{" "}
          <a href={searchPath({ ...applied, target: "" })}>any target</a>
        </p>
      )}
      {error && (
        <p class="notification is-danger is-light" role="alert">
          {error}
        </p>
      )}
      <EventList events={events} label="Events" />
      {!loading && events.length === 0 && !error && <p>No events match.</p>}
      {next !== null && (
        <button type="button" class="button" disabled={loading} onClick={() => load(to, next)}>
          Older events
        </button>
      )}
    </div>
  );
}
