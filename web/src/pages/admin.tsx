// Enrollment, users and API tokens (admins): a one-time enrollment token
// with the command that enrolls an agent, the users with a form to add one,
// and API tokens for automation.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";

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
      <Users />
      <Tokens />
    </div>
  );
}

function Copyable({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="field has-addons">
      <div class="control is-expanded">
        <input class="input mono" readOnly value={text} aria-label={label} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <div class="control">
        <button
          type="button"
          class="button"
          onClick={async () => {
            await navigator.clipboard?.writeText(text).catch(() => undefined);
            setCopied(true);
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
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

function Users() {
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
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-testid={`user-${u.username}`}>
              <td>{u.username}</td>
              <td>{u.role}</td>
              <td>{u.disabled ? "disabled" : "active"}</td>
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

function Tokens() {
  const [tokens, setTokens] = useState<Schemas["ApiTokenSummary"][]>([]);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Schemas["TokenCreated"] | null>(null);
  const [message, setMessage] = useState("");
  const load = () => api.GET("/api/v1/tokens").then(({ data }) => setTokens(data ?? []));
  useEffect(() => {
    load();
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    const { data, error } = await api.POST("/api/v1/tokens", { body: { name } });
    setCreated(data ?? null);
    setMessage(data ? "" : problemText(error));
    if (data) {
      setName("");
      load();
    }
  };
  const revoke = async (id: string, label: string) => {
    const { error } = await api.DELETE("/api/v1/tokens/{id}", { params: { path: { id } } });
    setMessage(error ? problemText(error) : `${label} is revoked.`);
    load();
  };
  return (
    <section class="box" aria-labelledby="tokens-title">
      <h2 id="tokens-title" class="title is-5">
        API tokens
      </h2>
      <form class="field has-addons" onSubmit={create}>
        <div class="control is-expanded">
          <input
            class="input"
            required
            placeholder="What it is for, e.g. ci"
            aria-label="Token name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div class="control">
          <button type="submit" class="button is-primary">
            Create a token
          </button>
        </div>
      </form>
      {created && (
        <div class="mb-4" data-testid="api-token">
          <p class="mb-2">
            Shown once: send it as <span class="mono">Authorization: Bearer …</span>.
          </p>
          <Copyable text={created.token} label="API token" />
        </div>
      )}
      {message && <p role="status">{message}</p>}
      <table class="table is-narrow is-fullwidth" aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            <th scope="col">
              <span class="is-sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => {
            const expired = t.expires_at && Date.parse(t.expires_at) < Date.now();
            return (
              <tr key={t.id} data-testid={`token-${t.name}`}>
                <td>{t.name}</td>
                <td>{t.username}</td>
                <td>{t.role}</td>
                <td>{new Date(t.created_at).toLocaleString()}</td>
                <td>{t.last_used_at ? new Date(t.last_used_at).toLocaleString() : "never"}</td>
                <td>{t.revoked_at ? "revoked" : expired ? "expired" : "active"}</td>
                <td>
                  {!t.revoked_at && (
                    <button
                      type="button"
                      class="button is-small is-danger is-light"
                      onClick={() => revoke(t.id, `${t.name} (${t.username})`)}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
