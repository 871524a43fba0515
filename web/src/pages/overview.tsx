// At a glance: which agents are online, which check targets fail and why,
// and what changed since the page opened. Kept current by the live stream.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { BrowserSession } from "../api/client";
import { problemText } from "../api/client";
import { type LiveStream, loadOnResync } from "../api/live";
import { type Agent, allAgents, type Latest, latestResults, type LiveResult } from "../lib/data";
import { LatestIndex } from "../lib/latest-index";
import { ago, ms } from "../lib/format";
import { type Change, isOnline } from "../lib/status";
import { StatusTag, TargetStatus } from "../components/status";
import { useNow } from "../components/now";
import { VirtualTable } from "../components/virtual-rows";

/** The least time between two draws of live results (ms): a frame. */
const FLUSH_MS = 16;

const collator = new Intl.Collator();

export function Overview({ session, live }: { session: BrowserSession; live: LiveStream }) {
  const [agents, setAgents] = useState<Map<string, Agent>>(new Map());
  // Tens of thousands of check targets: kept in one index that live results
  // change in place, with `version` telling the page to draw again.
  const index = useRef(new LatestIndex());
  // Live results that came while the page was reading: merged again into
  // what it read, which may be older than they are.
  const sinceRead = useRef<LiveResult[] | null>(null);
  const [version, setVersion] = useState(0);
  const [changes, setChanges] = useState<Change[]>([]);
  const [error, setError] = useState("");
  const [loaded, setLoaded] = useState(false);
  const now = useNow();

  const loadAgents = async () => {
    const a = await allAgents();
    setAgents(new Map(a.map((x) => [x.id, x])));
  };

  const load = async () => {
    sinceRead.current = [];
    try {
      const [, l] = await Promise.all([loadAgents(), latestResults()]);
      const fresh = new LatestIndex(l);
      for (const r of sinceRead.current ?? []) fresh.merge(r);
      index.current = fresh;
      setVersion((v) => v + 1);
      setError("");
      setLoaded(true);
    } catch (e) {
      setError(problemText(e, "the server did not answer"));
    } finally {
      sinceRead.current = null;
    }
  };

  useEffect(() => {
    const stopLoads = loadOnResync(live, load);
    // Live results are drawn as they come, but at most once a FLUSH_MS:
    // those that come sooner gather and are drawn together.
    let pending: LiveResult[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let flushed = 0;
    const flush = () => {
      timer = undefined;
      flushed = performance.now();
      const fresh: Change[] = [];
      for (const r of pending) {
        const change = index.current.merge(r);
        if (change) fresh.unshift(change);
      }
      sinceRead.current?.push(...pending);
      pending = [];
      if (fresh.length > 0) setChanges((c) => [...fresh, ...c].slice(0, 50));
      setVersion((v) => v + 1);
    };
    const stop = live.listen((event) => {
      if (event.type === "agent") {
        setAgents((prev) => {
          const known = prev.get(event.agent_id);
          // A new agent: read the inventory again for the rest of its fields.
          if (!known) {
            loadAgents().catch((e) => setError(problemText(e, "the server did not answer")));
            return prev;
          }
          const next = new Map(prev);
          next.set(event.agent_id, { ...known, last_seen_at: event.last_seen_at });
          return next;
        });
      } else if (event.type === "result") {
        pending.push(event.result);
        timer ??= setTimeout(flush, Math.max(0, flushed + FLUSH_MS - performance.now()));
      }
    });
    return () => {
      stopLoads();
      stop();
      clearTimeout(timer);
    };
  }, [live]);

  const offlineAfter = session.offline_after_seconds;
  const agentList = useMemo(
    () => [...agents.values()].filter((a) => !a.revoked_at).sort((a, b) => collator.compare(a.name, b.name)),
    [agents],
  );
  const online = agentList.filter((a) => isOnline(a, now, offlineAfter)).length;
  // `version` marks a change inside the index.
  const rows = useMemo(() => index.current.sorted(), [version]);
  const { passing, failing: down } = index.current.tally(now);

  return (
    <div class="container is-fluid">
      <h1 class="title">Overview</h1>
      {error && (
        <div class="notification is-danger" role="alert">
          Could not read the overview: {error}.
        </div>
      )}
      <div class="columns is-multiline" aria-busy={!loaded}>
        <Figure label="Agents online" value={online} testid="agents-online" tone="is-success" />
        <Figure label="Agents offline" value={agentList.length - online} testid="agents-offline" tone="is-danger" />
        <Figure label="Check targets OK" value={passing} testid="checks-ok" tone="is-success" />
        <Figure label="Check targets failing" value={down.length} testid="checks-failing" tone="is-danger" />
      </div>

      <div class="columns">
        <section class="column is-two-thirds" aria-labelledby="failing-title">
          <h2 id="failing-title" class="title is-5">
            Failing now
          </h2>
          {down.length === 0 ? (
            <p class="has-text-success">Every check target that reports passed its last run.</p>
          ) : (
            <ResultTable rows={down} now={now} label="Failing check targets" />
          )}
        </section>
        <section class="column" aria-labelledby="changes-title">
          <h2 id="changes-title" class="title is-5">
            Recent changes
          </h2>
          {changes.length === 0 ? (
            <p class="has-text-grey">No status changed since this page opened.</p>
          ) : (
            <ul data-testid="changes">
              {changes.map((c) => (
                <li key={`${c.check_id}-${c.at}`}>
                  <a href={`/checks/${c.check_id}`}>{c.label}</a>: <StatusTag status={c.from} /> →{" "}
                  <StatusTag status={c.to} /> <span class="has-text-grey">{ago(c.at, now)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>

      <section class="block" aria-labelledby="agents-title">
        <h2 id="agents-title" class="title is-5">
          Agents
        </h2>
        <VirtualTable
          rows={agentList}
          label="Agents"
          columns={5}
          head={
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Status</th>
              <th scope="col">Last seen</th>
              <th scope="col">Version</th>
              <th scope="col">Groups</th>
            </tr>
          }
          row={(a) => {
            const up = isOnline(a, now, offlineAfter);
            return (
              <tr key={a.id} data-testid={`agent-${a.name}`}>
                <td>
                  <a href={`/agents/${a.id}`}>{a.name}</a>
                </td>
                <td>
                  <span class={`tag ${up ? "is-success" : "is-danger"}`} data-testid="agent-status">
                    {up ? "online" : "offline"}
                  </span>
                </td>
                <td>{ago(a.last_seen_at, now)}</td>
                <td class="mono">{a.version}</td>
                <td>{a.groups.join(", ")}</td>
              </tr>
            );
          }}
        />
      </section>

      <section class="block" aria-labelledby="checks-title">
        <h2 id="checks-title" class="title is-5">
          Check targets
        </h2>
        <ResultTable rows={rows} now={now} label="Check targets" />
      </section>
    </div>
  );
}

function Figure(props: { label: string; value: number; testid: string; tone: string }) {
  return (
    <div class="column is-half-tablet is-one-quarter-desktop">
      <div class="box">
        <p class="heading">{props.label}</p>
        <p class={`tile-figure ${props.value > 0 ? `has-text-${props.tone.slice(3)}` : ""}`} data-testid={props.testid}>
          {props.value}
        </p>
      </div>
    </div>
  );
}

export function ResultTable({ rows, now, label }: { rows: Latest[]; now: number; label: string }) {
  return (
    <VirtualTable
      rows={rows}
      label={label}
      columns={7}
      head={
        <tr>
          <th scope="col">Check</th>
          <th scope="col">Target</th>
          <th scope="col">Agent</th>
          <th scope="col">Status</th>
          <th scope="col">Run took</th>
          <th scope="col">Last run</th>
          <th scope="col">Message</th>
        </tr>
      }
      row={(r) => (
        <tr
          key={r.check_id}
          data-testid={`result-${r.check}@${r.agent}`}
          data-result={r.result_id}
          data-produced={Date.parse(r.started_at) + r.duration * 1000}
        >
          <td>
            <a href={`/checks/${r.check_id}`}>{r.check}</a>
          </td>
          <td class="mono">{r.target}</td>
          <td>{r.agent}</td>
          <td>
            <TargetStatus row={r} now={now} />
          </td>
          <td>{ms(r.duration)}</td>
          <td>{ago(r.started_at, now)}</td>
          <td title={r.message ?? undefined}>{r.message}</td>
        </tr>
      )}
    />
  );
}
