// API tokens: create one (shown once), list them, revoke one.

import { useEffect, useState } from "preact/hooks";
import { api, problemText, type Schemas } from "../api/client";
import { Copyable } from "./copyable";

/** API tokens: every user's for an admin on the admin page, or only
 * `owner`'s (the account page). */
export function Tokens({ owner }: { owner?: string } = {}) {
  const [tokens, setTokens] = useState<Schemas["ApiTokenSummary"][]>([]);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Schemas["TokenCreated"] | null>(null);
  const [message, setMessage] = useState("");
  const load = () =>
    api.GET("/api/v1/tokens").then(({ data }) => setTokens((data ?? []).filter((t) => !owner || t.username === owner)));
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
