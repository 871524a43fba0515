// Agent updates (docs/updates.md): how many agents run each version, the
// signed releases in the registry, and the rollouts — each agent asked, its
// wave, the version it runs and what it reported, with the reason of every
// failure. Operators start, pause, resume and abort rollouts here; viewers
// look.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";
import { allAgents } from "../lib/data";
import { ago } from "../lib/format";
import { versionCounts } from "../lib/updates";
import { useNow } from "../components/now";

type Release = Schemas["ReleaseView"];
type Rollout = Schemas["RolloutView"];

export function UpdatesPage({ session }: { session: BrowserSession }) {
  const [versions, setVersions] = useState<[string, number][] | null>(null);
  const [releases, setReleases] = useState<Release[]>([]);
  const [rollouts, setRollouts] = useState<Rollout[]>([]);
  const [error, setError] = useState("");
  const canChange = session.role !== "viewer";

  const load = async () => {
    try {
      const agents = await allAgents();
      setVersions(versionCounts(agents.filter((a) => !a.revoked_at).map((a) => a.version)));
    } catch (e) {
      setError(problemText(e));
    }
    const r = await api.GET("/api/v1/releases");
    if (r.data) setReleases(r.data);
    else setError(problemText(r.error));
    const o = await api.GET("/api/v1/rollouts");
    if (o.data) setRollouts(o.data);
    else setError(problemText(o.error));
  };
  useEffect(() => {
    load();
  }, []);
  // Follow an active rollout as it advances.
  const active = rollouts.some((r) => r.state === "running" || r.state === "paused");
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(load, 2000);
    return () => clearInterval(timer);
  }, [active]);

  if (error) return <div class="notification is-danger" role="alert">Could not read the updates: {error}.</div>;
  if (!versions) return <progress class="progress is-small" aria-label="Loading" />;
  return (
    <div class="container is-fluid">
      <h1 class="title">Agent updates</h1>
      <p class="mb-4">
        Agents update themselves from signed releases, wave by wave; each keeps a new version only once it delivered a
        result. Publish with <span class="mono">vantage release publish</span>.
        {!canChange && " Your role can look but not change anything."}
      </p>
      <div class="columns">
        <div class="column is-one-third">
          <h2 class="title is-5">Versions</h2>
          <table class="table is-fullwidth" aria-label="Agents by version">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Agents</th>
              </tr>
            </thead>
            <tbody>
              {versions.map(([v, n]) => (
                <tr key={v} data-testid={`version-${v}`}>
                  <td class="mono">{v}</td>
                  <td>{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="column">
          <h2 class="title is-5">Releases</h2>
          <Releases releases={releases} />
        </div>
      </div>
      {canChange && <StartRollout releases={releases} onStarted={load} />}
      <h2 class="title is-5 mt-5">Rollouts</h2>
      {rollouts.length === 0 && <p>No rollout yet.</p>}
      {rollouts.map((r) => (
        <RolloutCard key={r.id} rollout={r} canChange={canChange} onChanged={load} />
      ))}
    </div>
  );
}

function Releases({ releases }: { releases: Release[] }) {
  const now = useNow();
  if (releases.length === 0) return <p>No release published.</p>;
  return (
    <div class="table-container">
      <table class="table is-fullwidth" aria-label="Agent releases">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Platform</th>
            <th scope="col">Seq</th>
            <th scope="col">Signed by</th>
            <th scope="col">Expires</th>
            <th scope="col">Yanked</th>
          </tr>
        </thead>
        <tbody>
          {releases.map((r) => (
            <tr key={`${r.version}-${r.platform}`} data-testid={`release-${r.version}`}>
              <td class="mono">{r.version}</td>
              <td class="mono">{r.platform}</td>
              <td>{r.seq}</td>
              <td class="mono">{r.signer}</td>
              <td title={r.expires_at}>{r.expires_at.slice(0, 10)}</td>
              <td>{r.yanked_at ? ago(r.yanked_at, now) : "-"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StartRollout({ releases, onStarted }: { releases: Release[]; onStarted: () => void }) {
  const versions = [...new Set(releases.filter((r) => !r.yanked_at).map((r) => r.version))];
  const [version, setVersion] = useState("");
  const [group, setGroup] = useState("");
  const [waves, setWaves] = useState("canary=1,10%,50%,100%");
  const [wait, setWait] = useState("10m");
  const [maxFailures, setMaxFailures] = useState("0");
  const [error, setError] = useState("");
  const chosen = version || versions[0] || "";
  const start = async (e: Event) => {
    e.preventDefault();
    const { error } = await api.POST("/api/v1/rollouts", {
      body: {
        version: chosen,
        ...(group.trim() ? { group: group.trim() } : {}),
        waves: waves.split(",").map((w) => w.trim()).filter(Boolean),
        wait: wait.trim(),
        max_failures_percent: Number(maxFailures),
      },
    });
    if (error) {
      setError(problemText(error));
      return;
    }
    setError("");
    onStarted();
  };
  if (versions.length === 0) return null;
  return (
    <form class="box" aria-label="Start a rollout" onSubmit={start}>
      <h2 class="title is-5">Start a rollout</h2>
      <div class="field is-grouped is-grouped-multiline">
        <div class="control">
          <label class="label" for="rollout-version">
            Version
          </label>
          <div class="select">
            <select id="rollout-version" value={chosen} onChange={(e) => setVersion(e.currentTarget.value)}>
              {versions.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="control">
          <label class="label" for="rollout-group">
            Group (empty: every agent)
          </label>
          <input id="rollout-group" class="input" value={group} onInput={(e) => setGroup(e.currentTarget.value)} />
        </div>
        <div class="control">
          <label class="label" for="rollout-waves">
            Waves
          </label>
          <input id="rollout-waves" class="input mono" value={waves} onInput={(e) => setWaves(e.currentTarget.value)} />
        </div>
        <div class="control">
          <label class="label" for="rollout-wait">
            Wait between waves
          </label>
          <input id="rollout-wait" class="input" value={wait} onInput={(e) => setWait(e.currentTarget.value)} />
        </div>
        <div class="control">
          <label class="label" for="rollout-failures">
            Failures allowed (%)
          </label>
          <input
            id="rollout-failures"
            class="input"
            type="number"
            min="0"
            max="100"
            value={maxFailures}
            onInput={(e) => setMaxFailures(e.currentTarget.value)}
          />
        </div>
      </div>
      {error && (
        <p class="help is-danger" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="button is-primary">
        Start
      </button>
    </form>
  );
}

const STATE_TAG: Record<string, string> = {
  running: "is-info",
  paused: "is-warning",
  halted: "is-danger",
  aborted: "is-dark",
  done: "is-success",
};

function RolloutCard({ rollout, canChange, onChanged }: { rollout: Rollout; canChange: boolean; onChanged: () => void }) {
  const [error, setError] = useState("");
  const steer = async (action: "pause" | "resume" | "abort") => {
    const path = `/api/v1/rollouts/{id}/${action}` as "/api/v1/rollouts/{id}/pause";
    const { error } = await api.POST(path, { params: { path: { id: rollout.id } } });
    if (error) setError(problemText(error));
    else onChanged();
  };
  const waves = rollout.spec.waves ?? [];
  const failed = rollout.agents.filter((a) => a.step === "rolled_back" || a.step === "refused").length;
  return (
    <div class="box" data-testid={`rollout-${rollout.spec.version}`}>
      <p class="mb-2">
        <strong class="mono">{rollout.spec.version}</strong>{" "}
        <span class={`tag ${STATE_TAG[rollout.state] ?? ""}`} data-testid="rollout-state">
          {rollout.state}
        </span>{" "}
        wave {rollout.wave + 1} of {waves.length} ({waves.join(", ")}) · {rollout.agents.length} agents asked ·{" "}
        {failed} failed
        {rollout.spec.group ? ` · group ${rollout.spec.group}` : ""}
      </p>
      {rollout.reason && (
        <p class="mb-2" data-testid="rollout-reason">
          {rollout.reason}
        </p>
      )}
      {canChange && (
        <div class="buttons">
          {rollout.state === "running" && (
            <button type="button" class="button is-small" onClick={() => steer("pause")}>
              Pause
            </button>
          )}
          {rollout.state === "paused" && (
            <button type="button" class="button is-small" onClick={() => steer("resume")}>
              Resume
            </button>
          )}
          {(rollout.state === "running" || rollout.state === "paused") && (
            <button type="button" class="button is-small is-danger" onClick={() => steer("abort")}>
              Abort
            </button>
          )}
        </div>
      )}
      {error && (
        <p class="help is-danger" role="alert">
          {error}
        </p>
      )}
      <table class="table is-fullwidth is-narrow" aria-label={`Agents of rollout ${rollout.spec.version}`}>
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col">Wave</th>
            <th scope="col">Runs</th>
            <th scope="col">Step</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {rollout.agents.map((a) => (
            <tr key={a.agent_id} data-testid={`rollout-agent-${a.name}`}>
              <td>
                <a href={`/agents/${a.agent_id}`}>{a.name}</a>
              </td>
              <td>{a.wave + 1}</td>
              <td class="mono">{a.running}</td>
              <td data-testid="rollout-step">{a.step ?? "asked"}</td>
              <td>{a.reason ?? "-"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
