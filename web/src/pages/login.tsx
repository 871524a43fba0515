import { useState } from "preact/hooks";
import { api, type BrowserSession, problemText } from "../api/client";

export function Login({ onIn }: { onIn: (s: BrowserSession) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    const { data, error } = await api.POST("/api/v1/auth/session", { body: { username, password } });
    setBusy(false);
    if (data) onIn(data);
    else setError(problemText(error, "the server did not answer"));
  };

  return (
    <main class="section">
      <form class="box login-box" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title" class="title is-4">
          Vantage
        </h1>
        <div class="field">
          <label class="label" for="username">
            Username
          </label>
          <div class="control">
            <input
              id="username"
              class="input"
              name="username"
              autocomplete="username"
              required
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </div>
        </div>
        <div class="field">
          <label class="label" for="password">
            Password
          </label>
          <div class="control">
            <input
              id="password"
              class="input"
              type="password"
              name="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </div>
        </div>
        {error && (
          <p class="notification is-danger is-light" role="alert">
            {error[0]!.toUpperCase() + error.slice(1)}.
          </p>
        )}
        <button type="submit" class={`button is-primary is-fullwidth ${busy ? "is-loading" : ""}`} disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}
