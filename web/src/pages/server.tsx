// The server's own performance, from its `/metrics` read every few seconds:
// ingest, HTTP, database, agents, jobs and the process. Rates are measured
// between two readings, so they appear from the second one on.

import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { parseExposition, perSecond, quantile, type Reading, total } from "../lib/exposition";
import { ms, percent, withUnit } from "../lib/format";

/** Seconds between readings. */
const EVERY = 5;
/** Readings kept for the chart: ten minutes. */
const KEPT = 120;

type Point = { at: number; results?: number; requests?: number };

export function ServerPage() {
  const [readings, setReadings] = useState<Reading[]>([]);
  const [points, setPoints] = useState<Point[]>([]);
  const [problem, setProblem] = useState("");
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let stopped = false;
    const read = async () => {
      const response = await fetch("/metrics", { credentials: "same-origin" }).catch(() => null);
      if (stopped) return;
      if (!response?.ok) {
        setProblem(
          response?.status === 401
            ? "this server's /metrics asks for its metrics token, which the dashboard does not hold"
            : `reading /metrics failed${response ? ` (status ${response.status})` : ""}`,
        );
        return;
      }
      const now: Reading = { at: Date.now(), samples: parseExposition(await response.text()) };
      setProblem("");
      setReadings((prev) => {
        const before = prev[prev.length - 1];
        setPoints((p) =>
          [
            ...p,
            {
              at: now.at,
              results: perSecond(before, now, "vantage_ingest_results_total", { outcome: "stored" }),
              requests: perSecond(before, now, "vantage_http_requests_total"),
            },
          ].slice(-KEPT),
        );
        return [...prev, now].slice(-2);
      });
    };
    read();
    const timer = setInterval(read, EVERY * 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  useEffect(() => {
    const shown = points.filter((p) => p.results !== undefined);
    if (!box.current || shown.length < 2) return;
    const el = box.current;
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: 160,
        scales: { x: { time: true } },
        axes: [{ stroke: "currentColor" }, { stroke: "currentColor", label: "per second", size: 60 }],
        series: [
          {},
          { label: "results stored/s", stroke: "#485fc7", width: 1.5 },
          { label: "HTTP requests/s", stroke: "#48c78e", width: 1.5 },
        ],
      },
      [shown.map((p) => p.at / 1000), shown.map((p) => p.results ?? null), shown.map((p) => p.requests ?? null)],
      el,
    );
    return () => plot.destroy();
  }, [points]);

  const now = readings[readings.length - 1];
  const before = readings.length > 1 ? readings[0] : undefined;
  const rate = (name: string, where: Record<string, string> = {}) =>
    now ? perSecond(before, now, name, where) : undefined;
  const gauge = (name: string, where: Record<string, string> = {}) => (now ? total(now.samples, name, where) : undefined);
  const num = (v: number | undefined, digits = 1) => (v === undefined ? "–" : v.toFixed(digits));
  // Requests answered 5xx, all routes together, since the previous reading.
  const fives = (r: Reading) =>
    r.samples
      .filter((s) => s.name === "vantage_http_requests_total" && s.labels.code?.startsWith("5"))
      .reduce((sum, s) => sum + s.value, 0);
  const serverErrors = now && before ? fives(now) - fives(before) : undefined;
  const cpu = rate("process_cpu_seconds_total");
  const rss = gauge("process_resident_memory_bytes");
  const latency = (q: number) => (now ? quantile(before, now, "vantage_http_request_duration_seconds", q) : undefined);

  return (
    <div class="container is-fluid">
      <h1 class="title">Server</h1>
      <p class="subtitle is-6">
        This server's own metrics (<a href="/metrics">/metrics</a>), read every {EVERY} s; rates over the last {EVERY} s.
      </p>
      {problem && (
        <div class="notification is-warning" role="alert">
          Could not read the server's metrics: {problem}.
        </div>
      )}
      {!now && !problem && <progress class="progress is-small" aria-label="Reading the server's metrics" />}
      {now && (
        <>
          <div class="columns is-multiline">
            <Tile title="Ingest" testid="server-ingest">
              <Row label="results stored/s" value={num(rate("vantage_ingest_results_total", { outcome: "stored" }))} testid="server-results-rate" />
              <Row label="samples stored/s" value={num(rate("vantage_ingest_samples_total"))} />
              <Row
                label="batches refused/s"
                value={num(
                  before &&
                    (rate("vantage_ingest_batches_total", { outcome: "rejected" }) ?? 0) +
                      (rate("vantage_ingest_batches_total", { outcome: "throttled" }) ?? 0),
                )}
              />
              <Row label="in flight / waiting" value={`${num(gauge("vantage_ingest_inflight"), 0)} / ${num(gauge("vantage_ingest_waiting"), 0)}`} />
            </Tile>
            <Tile title="HTTP" testid="server-http">
              <Row label="requests/s" value={num(rate("vantage_http_requests_total"))} />
              <Row label="server errors (5xx)" value={num(serverErrors, 0)} />
              <Row label="latency p50 / p95" value={`${ms(latency(0.5))} / ${ms(latency(0.95))}`} />
            </Tile>
            <Tile title="Database and agents" testid="server-db">
              <Row
                label="connections busy / idle"
                value={`${num(gauge("vantage_db_pool_connections", { state: "busy" }), 0)} / ${num(gauge("vantage_db_pool_connections", { state: "idle" }), 0)}`}
              />
              <Row label="agents online" value={num(gauge("vantage_agents_online"), 0)} />
              <Row label="results dropped by outboxes" value={num(gauge("vantage_agent_outbox_dropped_results"), 0)} />
            </Tile>
            <Tile title="Jobs" testid="server-jobs">
              <Row label="rollup runs" value={num(gauge("vantage_rollup_runs_total"), 0)} />
              <Row label="job failures" value={num(gauge("vantage_job_failures_total"), 0)} />
              <Row label="audit failures" value={num(gauge("vantage_audit_failures_total"), 0)} />
            </Tile>
            <Tile title="Process" testid="server-process">
              <Row label="CPU (of one core)" value={percent(cpu ?? null, 1)} />
              <Row label="resident memory" value={rss === undefined ? "–" : withUnit(rss, "bytes")} testid="server-rss" />
              <Row label="open files" value={num(gauge("process_open_fds"), 0)} />
            </Tile>
          </div>
          <div ref={box} role="img" aria-label="Results stored and HTTP requests per second while this page is open" />
        </>
      )}
    </div>
  );
}

function Tile({ title, testid, children }: { title: string; testid: string; children: preact.ComponentChildren }) {
  return (
    <section class="column is-one-third" data-testid={testid}>
      <div class="box">
        <h2 class="title is-6">{title}</h2>
        <table class="table is-narrow is-fullwidth">
          <tbody>{children}</tbody>
        </table>
      </div>
    </section>
  );
}

function Row({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <tr>
      <th class="has-text-weight-normal">{label}</th>
      <td class="has-text-right" data-testid={testid}>
        {value}
      </td>
    </tr>
  );
}
