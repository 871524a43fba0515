// The audit log (admins): who changed what, when and from where, newest
// first, filtered by actor or target, a page at a time.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";

type Entry = Schemas["AuditEntry"];

const PAGE = 100;

export function AuditPage({ session }: { session: BrowserSession }) {
  if (session.role !== "admin") {
    return <div class="notification is-warning">Only admins read the audit log.</div>;
  }
  return <AuditLog />;
}

function AuditLog() {
  const [actor, setActor] = useState("");
  const [target, setTarget] = useState("");
  const [applied, setApplied] = useState({ actor: "", target: "" });
  const [entries, setEntries] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);

  const load = async (cursor: string | null) => {
    setLoading(true);
    const query = {
      limit: PAGE,
      ...(applied.actor ? { actor: applied.actor } : {}),
      ...(applied.target ? { target: applied.target } : {}),
      ...(cursor ? { cursor } : {}),
    };
    const { data, error } = await api.GET("/api/v1/audit", { params: { query } });
    setLoading(false);
    if (!data) {
      setError(problemText(error));
      return;
    }
    setError("");
    setEntries((old) => (cursor ? [...old, ...data.items] : data.items));
    setNext(data.next_cursor ?? null);
  };
  useEffect(() => {
    load(null);
  }, [applied]);

  return (
    <div class="container is-fluid">
      <h1 class="title">Audit log</h1>
      <p class="subtitle is-6">
        Every change made through the API, failed logins and refused requests; secrets are redacted.
      </p>
      <form
        class="field is-grouped is-grouped-multiline"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ actor: actor.trim(), target: target.trim() });
        }}
      >
        <div class="control">
          <label class="label" for="audit-actor">
            Actor
          </label>
          <input
            id="audit-actor"
            class="input"
            placeholder="a user or agent name"
            value={actor}
            onInput={(e) => setActor(e.currentTarget.value)}
          />
        </div>
        <div class="control">
          <label class="label" for="audit-target">
            Target starts with
          </label>
          <input
            id="audit-target"
            class="input mono"
            placeholder="/api/v1/users"
            value={target}
            onInput={(e) => setTarget(e.currentTarget.value)}
          />
        </div>
        <div class="control is-align-self-flex-end">
          <button type="submit" class="button is-primary">
            Filter
          </button>
        </div>
      </form>
      {error && (
        <p class="notification is-danger is-light" role="alert">
          {error}
        </p>
      )}
      <div class="table-container">
        <table class="table is-fullwidth is-narrow is-hoverable" aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">From</th>
              <th scope="col">What</th>
              <th scope="col">Status</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <Row key={e.id} entry={e} />
            ))}
          </tbody>
        </table>
      </div>
      {!loading && entries.length === 0 && !error && <p>No entries match.</p>}
      {next && (
        <button type="button" class="button" disabled={loading} onClick={() => load(next)}>
          Older entries
        </button>
      )}
    </div>
  );
}

/** The method of an API action (`PUT /api/v1/checks/{name}`); none for the server's own. */
function httpMethod(action: string): string | undefined {
  const method = action.split(" ")[0] ?? "";
  return ["POST", "PUT", "PATCH", "DELETE"].includes(method) ? method : undefined;
}

function Row({ entry }: { entry: Entry }) {
  const { actor } = entry;
  const refused = entry.status >= 400;
  return (
    <tr data-testid={`audit-${entry.id}`}>
      <td class="is-nowrap">{new Date(entry.at).toLocaleString()}</td>
      <td>
        {actor.name || "—"} <span class="tag is-light">{actor.kind}</span>
      </td>
      <td class="mono">{entry.source || "—"}</td>
      <td>
        <span class="mono">{httpMethod(entry.action) ?? entry.action}</span> <span class="mono">{entry.target}</span>
      </td>
      <td>
        <span class={`tag ${refused ? "is-danger is-light" : "is-success is-light"}`}>{entry.status}</span>
      </td>
      <td>
        {Object.keys(entry.detail).length > 0 && (
          <details>
            <summary>Show</summary>
            <pre class="audit-detail">{JSON.stringify(entry.detail, null, 2)}</pre>
          </details>
        )}
      </td>
    </tr>
  );
}
