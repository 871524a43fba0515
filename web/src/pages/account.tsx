// Your account: change your password, see where you are logged in and end
// a session, and your API tokens.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";
import { Tokens } from "../components/tokens";

type Session = Schemas["SessionView"];

export function AccountPage({ session, onOut }: { session: BrowserSession; onOut: () => void }) {
  return (
    <div class="container is-fluid">
      <h1 class="title">Your account</h1>
      <p class="subtitle is-6">
        {session.username} <span class="tag is-info">{session.role}</span>
      </p>
      <Password onOut={onOut} />
      <Sessions onOut={onOut} />
      <Tokens owner={session.username} />
    </div>
  );
}

function Password({ onOut }: { onOut: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const change = async (e: Event) => {
    e.preventDefault();
    const { error } = await api.PUT("/api/v1/auth/password", { body: { current, new: next } });
    if (error) {
      setError(problemText(error));
      return;
    }
    // Every session of yours ended, this one too: log in again.
    onOut();
  };
  return (
    <section class="box" aria-labelledby="password-title">
      <h2 id="password-title" class="title is-5">
        Password
      </h2>
      <form class="columns is-vcentered" onSubmit={change} aria-label="Change your password">
        <div class="column">
          <label class="label" for="current-password">
            Current password
          </label>
          <input
            id="current-password"
            class="input"
            type="password"
            autocomplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </div>
        <div class="column">
          <label class="label" for="next-password">
            New password
          </label>
          <input
            id="next-password"
            class="input"
            type="password"
            autocomplete="new-password"
            minLength={12}
            required
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
        </div>
        <div class="column is-narrow is-align-self-flex-end">
          <button type="submit" class="button is-primary">
            Change password
          </button>
        </div>
      </form>
      <p class="help">At least 12 characters. Every session of yours ends, this one too.</p>
      {error && (
        <p class="notification is-danger is-light" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function Sessions({ onOut }: { onOut: () => void }) {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [message, setMessage] = useState("");
  const load = () => api.GET("/api/v1/auth/sessions").then(({ data }) => setSessions(data ?? []));
  useEffect(() => {
    load();
  }, []);
  const end = async (s: Session) => {
    const { error } = await api.DELETE("/api/v1/auth/sessions/{id}", { params: { path: { id: s.id } } });
    if (error) {
      setMessage(problemText(error));
      return;
    }
    if (s.current) {
      onOut();
      return;
    }
    setMessage(`The session from ${s.source || "an unknown address"} is ended.`);
    load();
  };
  return (
    <section class="box" aria-labelledby="sessions-title">
      <h2 id="sessions-title" class="title is-5">
        Where you are logged in
      </h2>
      {message && <p role="status">{message}</p>}
      <table class="table is-narrow is-fullwidth" aria-label="Sessions">
        <thead>
          <tr>
            <th scope="col">From</th>
            <th scope="col">Browser</th>
            <th scope="col">Since</th>
            <th scope="col">Until</th>
            <th scope="col">
              <span class="is-sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id} data-testid={`session-${s.current ? "current" : s.id}`}>
              <td class="mono">{s.source || "—"}</td>
              <td>
                {s.user_agent || "—"} {s.current && <span class="tag is-success is-light">this one</span>}
              </td>
              <td>{new Date(s.created_at).toLocaleString()}</td>
              <td>{new Date(s.expires_at).toLocaleString()}</td>
              <td>
                <button type="button" class="button is-small is-danger is-light" onClick={() => end(s)}>
                  {s.current ? "Log out" : "End"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
