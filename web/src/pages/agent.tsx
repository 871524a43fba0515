// One agent: what it is, whether it is online, and its check targets.

import { useEffect, useState } from "preact/hooks";
import { api, type BrowserSession, problemText } from "../api/client";
import { type LiveStream, loadOnResync } from "../api/live";
import { type Agent, type Latest, latestResults } from "../lib/data";
import { ago } from "../lib/format";
import { isOnline, merge } from "../lib/status";
import { lines } from "../lib/plugins";
import { useNow } from "../components/now";
import { ResultTable } from "./overview";
import { SystemPanel } from "../components/system-panel";
import { AlertTable, useAlerts } from "../components/alerts";
import { ConfigStatusPanel } from "../components/config-status";

export function AgentPage({ id, session, live }: { id: string; session: BrowserSession; live: LiveStream }) {
  const [agent, setAgent] = useState<Agent | null>(null);
  const [latest, setLatest] = useState<Map<number, Latest>>(new Map());
  const [error, setError] = useState("");
  const now = useNow();
  const { alerts } = useAlerts(live);

  const load = async () => {
    const { data, error } = await api.GET("/api/v1/agents/{id}", { params: { path: { id } } });
    if (!data) {
      setError(problemText(error));
      return;
    }
    setAgent(data);
    try {
      setLatest(new Map((await latestResults(id)).map((r) => [r.check_id, r])));
    } catch (e) {
      setError(problemText(e));
    }
  };

  useEffect(() => {
    const stopLoads = loadOnResync(live, load);
    const stop = live.listen((event) => {
      if (event.type === "agent" && event.agent_id === id) {
        setAgent((a) => (a ? { ...a, last_seen_at: event.last_seen_at } : a));
      } else if (event.type === "result" && event.result.agent_id === id) {
        setLatest((prev) => {
          const next = new Map(prev);
          merge(next, event.result);
          return next;
        });
      }
    });
    return () => {
      stopLoads();
      stop();
    };
  }, [id, live]);

  if (error) return <div class="notification is-danger" role="alert">Could not read this agent: {error}.</div>;
  if (!agent) return <progress class="progress is-small" aria-label="Loading" />;
  const up = isOnline(agent, now, session.offline_after_seconds);
  const rows = [...latest.values()].sort((a, b) => a.check.localeCompare(b.check) || a.target.localeCompare(b.target));
  return (
    <div class="container is-fluid">
      <nav class="breadcrumb" aria-label="Breadcrumbs">
        <ul>
          <li>
            <a href="/">Overview</a>
          </li>
          <li class="is-active">
            <a aria-current="page">{agent.name}</a>
          </li>
        </ul>
      </nav>
      <h1 class="title">
        {agent.name}{" "}
        <span class={`tag is-medium ${up ? "is-success" : "is-danger"}`} data-testid="agent-status">
          {up ? "online" : "offline"}
        </span>
      </h1>
      <div class="box">
        <dl class="columns is-multiline">
          <Fact term="Host" value={`${agent.hostname} (${agent.os}/${agent.arch})`} />
          <Fact term="Agent version" value={agent.version} />
          <Fact term="Last seen" value={ago(agent.last_seen_at, now)} />
          <Fact term="Addresses" value={agent.addresses.join(", ") || "none reported"} />
          <Fact term="Groups" value={agent.groups.join(", ") || "none"} />
          <Fact term="Outbox" value={`${agent.outbox.backlog_results} waiting, ${agent.outbox.dropped_results} dropped`} />
        </dl>
      </div>
      <ConfigStatusPanel status={agent.config_status} />
      {rows.some((r) => r.plugin === "system") && (
        <SystemPanel row={rows.find((r) => r.plugin === "system")!} live={live} />
      )}
      {session.role !== "viewer" && <Placement agent={agent} onSaved={load} />}
      <h2 class="title is-5">Alerts</h2>
      <AlertTable
        alerts={alerts.filter((a) => a.agent_id === id || (a.agent_id == null && a.agents.includes(agent.name)))}
        now={now}
        canSilence={session.role !== "viewer"}
        label={`Alerts of ${agent.name}`}
      />
      <h2 class="title is-5">Check targets</h2>
      <ResultTable rows={rows} now={now} label={`Check targets of ${agent.name}`} />
    </div>
  );
}

/** Groups decide which checks an agent runs (operators). */
function Placement({ agent, onSaved }: { agent: Agent; onSaved: () => void }) {
  const [groups, setGroups] = useState(agent.groups.join(", "));
  const [message, setMessage] = useState("");
  const save = async (e: Event) => {
    e.preventDefault();
    const { error } = await api.PATCH("/api/v1/agents/{id}", {
      params: { path: { id: agent.id } },
      body: { groups: lines(groups) },
    });
    setMessage(error ? `Not saved: ${problemText(error)}.` : "Saved: the agent picks up its checks within seconds.");
    if (!error) onSaved();
  };
  return (
    <form class="box" onSubmit={save} aria-label="Agent groups">
      <label class="label" for="agent-groups">
        Groups (comma-separated)
      </label>
      <div class="field has-addons">
        <div class="control is-expanded">
          <input id="agent-groups" class="input" value={groups} onInput={(e) => setGroups(e.currentTarget.value)} />
        </div>
        <div class="control">
          <button type="submit" class="button is-primary">
            Save groups
          </button>
        </div>
      </div>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

function Fact({ term, value }: { term: string; value: string }) {
  return (
    <div class="column is-one-third">
      <dt class="heading">{term}</dt>
      <dd class="mono">{value}</dd>
    </div>
  );
}
