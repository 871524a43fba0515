// Enrollment, users and API tokens (admins): a one-time enrollment token
// with the command that enrolls an agent, the users with a form to add one,
// and API tokens for automation.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";
import { Copyable } from "../components/copyable";
import { Tokens } from "../components/tokens";

type User = Schemas["UserSummary"];
type Role = Schemas["Role"];

export function AdminPage({ session }: { session: BrowserSession }) {
  if (session.role !== "admin") {
    return <div class="notification is-warning">Only admins manage enrollment and users.</div>;
  }
  return (
    <div class="container is-fluid">
      <h1 class="title">Enrollment &amp; users</h1>
      <Enrollment />
      <Users session={session} />
      <Tokens />
    </div>
  );
}

function Enrollment() {
  const [lifetime, setLifetime] = useState("1h");
  const [token, setToken] = useState<Schemas["EnrollmentToken"] | null>(null);
  const [error, setError] = useState("");
  const create = async (e: Event) => {
    e.preventDefault();
    const { data, error } = await api.POST("/api/v1/enrollment-tokens", { body: { expires_in: lifetime } });
    setToken(data ?? null);
    setError(data ? "" : problemText(error));
  };
  const command = token
    ? `vantage-agent enroll --server ${location.origin} --token ${token.token} --name $(hostname) && vantage-agent run`
    : "";
  return (
    <section class="box" aria-labelledby="enroll-title">
      <h2 id="enroll-title" class="title is-5">
        Enroll an agent
      </h2>
      <form class="field is-grouped" onSubmit={create}>
        <div class="control">
          <label class="label" for="enroll-lifetime">
            Token valid for
          </label>
          <div class="select">
            <select id="enroll-lifetime" value={lifetime} onChange={(e) => setLifetime(e.currentTarget.value)}>
              <option value="1h">1 hour</option>
              <option value="24h">24 hours</option>
              <option value="7d">7 days</option>
            </select>
          </div>
        </div>
        <div class="control is-align-self-flex-end">
          <button type="submit" class="button is-primary">
            Create an enrollment token
          </button>
        </div>
      </form>
      {error && (
        <p class="notification is-danger is-light" role="alert">
          {error}
        </p>
      )}
      {token && (
        <div data-testid="enrollment">
          <p class="mb-2">
            One agent can use it, until {new Date(token.expires_at).toLocaleString()}. Run on the agent's host:
          </p>
          <Copyable text={command} label="Install command" />
        </div>
      )}
    </section>
  );
}

function Users({ session }: { session: BrowserSession }) {
  const [users, setUsers] = useState<User[]>([]);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const load = () => api.GET("/api/v1/users").then(({ data }) => setUsers(data ?? []));
  useEffect(() => {
    load();
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    const { error } = await api.POST("/api/v1/users", { body: { username: name, password, role } });
    setMessage(error ? { ok: false, text: problemText(error) } : { ok: true, text: `${name} can log in now.` });
    if (!error) {
      setName("");
      setPassword("");
      load();
    }
  };
  return (
    <section class="box" aria-labelledby="users-title">
      <h2 id="users-title" class="title is-5">
        Users
      </h2>
      <table class="table is-narrow" aria-label="Users">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">State</th>
            <th scope="col">
              <span class="is-sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-testid={`user-${u.username}`}>
              <td>{u.username}</td>
              <td>{u.role}</td>
              <td>{u.disabled ? "disabled" : "active"}</td>
              <td>
                {u.username !== session.username && (
                  <UserActions
                    user={u}
                    onDone={(text) => {
                      setMessage({ ok: true, text });
                      load();
                    }}
                    onError={(text) => setMessage({ ok: false, text })}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="columns is-vcentered" onSubmit={create} aria-label="Add a user">
        <div class="column">
          <label class="label" for="new-user">
            Username
          </label>
          <input id="new-user" class="input" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="column">
          <label class="label" for="new-password">
            Password
          </label>
          <input
            id="new-password"
            class="input"
            type="password"
            autocomplete="new-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <div class="column is-narrow">
          <label class="label" for="new-role">
            Role
          </label>
          <div class="select">
            <select id="new-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              <option value="viewer">viewer</option>
              <option value="operator">operator</option>
              <option value="admin">admin</option>
            </select>
          </div>
        </div>
        <div class="column is-narrow is-align-self-flex-end">
          <button type="submit" class="button is-primary">
            Add user
          </button>
        </div>
      </form>
      {message && (
        <p class={`notification is-light ${message.ok ? "is-success" : "is-danger"}`} role={message.ok ? "status" : "alert"}>
          {message.text}
        </p>
      )}
    </section>
  );
}

/** Disable or enable a user, or delete them after a second click. */
function UserActions(props: { user: User; onDone: (text: string) => void; onError: (text: string) => void }) {
  const { user, onDone, onError } = props;
  const [confirming, setConfirming] = useState(false);
  const path = { params: { path: { id: user.id } } };
  const toggle = async () => {
    const { error } = await api.PATCH("/api/v1/users/{id}", { ...path, body: { disabled: !user.disabled } });
    if (error) onError(problemText(error));
    else onDone(`${user.username} is ${user.disabled ? "enabled" : "disabled"}.`);
  };
  const remove = async () => {
    const { error } = await api.DELETE("/api/v1/users/{id}", path);
    setConfirming(false);
    if (error) onError(problemText(error));
    else onDone(`${user.username} is deleted, with their sessions and tokens.`);
  };
  return (
    <div class="buttons are-small">
      <button type="button" class="button" onClick={toggle}>
        {user.disabled ? "Enable" : "Disable"}
      </button>
      {confirming ? (
        <>
          <button type="button" class="button is-danger" onClick={remove}>
            Delete {user.username}
          </button>
          <button type="button" class="button" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </>
      ) : (
        <button type="button" class="button is-danger is-light" onClick={() => setConfirming(true)}>
          Delete
        </button>
      )}
    </div>
  );
}
