// One check target: its latest run, a latency smoke chart over a chosen
// range (5 minutes to 30 days, at the resolution the server picks), loss and
// availability, and any of its metrics charted in its own unit. Over short
// ranges, new runs arrive live.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, type BrowserSession, problemText, type Schemas } from "../api/client";
import type { LiveStream } from "../api/live";
import { type Latest, lastSeconds, latestResults, targetQuery } from "../lib/data";
import { ago, ms, percent } from "../lib/format";
import { bucketStep, type Point, smokeBuckets } from "../lib/smoke";
import { TargetStatus } from "../components/status";
import { fromLive } from "../lib/status";
import { SmokeChart } from "../components/smoke-chart";
import { PathView } from "../components/path-view";
import { MetricChart } from "../components/metric-chart";
import { useNow } from "../components/now";
import { navigate, useLocation } from "../router";
import { AlertTable, useAlerts } from "../components/alerts";
import { RecentEvents } from "../components/recent-events";

type SeriesInfo = Schemas["SeriesInfo"];

export const RANGES: { key: string; label: string; seconds: number }[] = [
  { key: "5m", label: "5 min", seconds: 300 },
  { key: "1h", label: "1 hour", seconds: 3600 },
  { key: "6h", label: "6 hours", seconds: 6 * 3600 },
  { key: "24h", label: "24 hours", seconds: 86400 },
  { key: "7d", label: "7 days", seconds: 7 * 86400 },
  { key: "30d", label: "30 days", seconds: 30 * 86400 },
];

/** The latency metric shown first: per-packet RTTs, else the first duration. */
const PREFERRED = ["rtt", "destination_rtt", "connect_time", "first_byte_time", "lookup_time", "dns_time", "tls_time"];

export function CheckPage({ id, session, live }: { id: number; session: BrowserSession; live: LiveStream }) {
  const { query } = useLocation();
  const range = RANGES.find((r) => r.key === query.get("range")) ?? RANGES[1]!;
  const [row, setRow] = useState<Latest | null>(null);
  const [series, setSeries] = useState<SeriesInfo[]>([]);
  const [error, setError] = useState("");
  const now = useNow(5000);
  const { alerts } = useAlerts(live);

  useEffect(() => {
    (async () => {
      try {
        const found = (await latestResults()).find((r) => r.check_id === id);
        if (!found) {
          setError("no check target has this id");
          return;
        }
        setRow(found);
        const { data, error } = await api.GET("/api/v1/series", {
          params: { query: { agent_id: found.agent_id, check: found.check, target: found.target } },
        });
        if (!data) throw error;
        setSeries(data.filter((s) => s.check_id === id));
      } catch (e) {
        setError(problemText(e));
      }
    })();
    return live.listen((event) => {
      if (event.type === "result" && event.result.check_id === id) {
        setRow((r) => (!r || r.started_at < event.result.started_at ? fromLive(event.result, r) : r));
      }
    });
  }, [id, live]);

  // Durations with one series: a metric labelled per hop or flow (the
  // traceroute's) is charted in the path view instead.
  const durations = useMemo(() => {
    const count = new Map<string, number>();
    for (const s of series) if (s.unit === "seconds") count.set(s.metric, (count.get(s.metric) ?? 0) + 1);
    const names = [...count].filter(([, n]) => n === 1).map(([m]) => m);
    return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  }, [series]);
  const metric = query.get("metric") ?? durations[0];

  const choose = (next: { range?: string; metric?: string }) => {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(next)) if (v) q.set(k, v);
    navigate(`/checks/${id}?${q}`, true);
  };

  if (error) return <div class="notification is-danger" role="alert">Could not read this check: {error}.</div>;
  if (!row) return <progress class="progress is-small" aria-label="Loading" />;
  return (
    <div class="container is-fluid">
      <nav class="breadcrumb" aria-label="Breadcrumbs">
        <ul>
          <li>
            <a href="/">Overview</a>
          </li>
          <li>
            <a href={`/agents/${row.agent_id}`}>{row.agent}</a>
          </li>
          <li class="is-active">
            <a aria-current="page">{row.check}</a>
          </li>
        </ul>
      </nav>
      <h1 class="title">
        {row.check} <span class="mono has-text-grey is-size-5">{row.target}</span>
      </h1>
      <p class="subtitle is-6">
        <TargetStatus row={row} now={now} /> last run {ago(row.started_at, now)}, took {ms(row.duration)} ·{" "}
        <span class="mono">
          {row.plugin}@{row.plugin_version}
        </span>
        {row.message && <> · {row.message}</>}
      </p>
      <AlertTable
        alerts={alerts.filter(
          (a) => a.check === row.check && a.target === row.target && (a.agent_id == null || a.agent_id === row.agent_id),
        )}
        now={now}
        canSilence={session.role !== "viewer"}
        label={`Alerts of ${row.check}`}
      />
      <RecentEvents row={row} now={now} />

      <div class="level">
        <div class="level-left">
          <div class="buttons has-addons" role="group" aria-label="Time range">
            {RANGES.map((r) => (
              <button
                type="button"
                key={r.key}
                class={`button is-small ${r.key === range.key ? "is-link is-selected" : ""}`}
                aria-pressed={r.key === range.key}
                onClick={() => choose({ range: r.key })}
              >
                {r.label}
              </button>
            ))}
          </div>
        </div>
        {durations.length > 1 && (
          <div class="level-right">
            <div class="select is-small">
              <select aria-label="Metric" value={metric} onChange={(e) => choose({ metric: e.currentTarget.value })}>
                {durations.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </div>
          </div>
        )}
      </div>

      {metric ? (
        <Latency row={row} metric={metric} rangeSeconds={range.seconds} live={live} />
      ) : (
        <p class="notification">This check records no durations to chart.</p>
      )}
      {series.some((s) => s.metric === "path_fingerprint") && <PathView row={row} rangeSeconds={range.seconds} />}
      <MetricChart row={row} series={series} rangeSeconds={range.seconds} />
    </div>
  );
}

function rank(metric: string): number {
  const i = PREFERRED.indexOf(metric);
  return i < 0 ? PREFERRED.length : i;
}

type History = Schemas["History"];
type StatsAnswer = Schemas["StatsAnswer"];

function Latency(props: { row: Latest; metric: string; rangeSeconds: number; live: LiveStream }) {
  const { row, metric, rangeSeconds, live } = props;
  const [history, setHistory] = useState<History | null>(null);
  const [points, setPoints] = useState<Point[]>([]);
  const [stats, setStats] = useState<StatsAnswer | null>(null);
  const [error, setError] = useState("");
  const seriesId = useRef<number | null>(null);
  // The server merges long ranges into buckets of this many seconds.
  const step = bucketStep(rangeSeconds);

  useEffect(() => {
    let cancelled = false;
    const base = targetQuery(row, ...lastSeconds(rangeSeconds));
    (async () => {
      const [h, s] = await Promise.all([
        api.GET("/api/v1/series/history", { params: { query: { ...base, metric, step } } }),
        api.GET("/api/v1/series/stats", { params: { query: { ...base, metric: "check_up" } } }),
      ]);
      if (cancelled) return;
      if (!h.data) {
        setError(problemText(h.error));
        return;
      }
      setError("");
      setHistory(h.data);
      const first = h.data.series[0];
      seriesId.current = first?.series.series_id ?? null;
      setPoints(first?.points ?? []);
      setStats(s.data ?? null);
    })();
    // Ranges of one point per run grow live: each new run's sample or
    // distribution of this metric, as the server computed it.
    const unlisten = live.listen((event) => {
      if (step !== undefined || event.type !== "result" || event.result.check_id !== row.check_id) return;
      const id = seriesId.current;
      const t = event.result.started_at;
      const sample = event.samples.find((s) => s.series_id === id);
      const point: Point | undefined =
        event.distributions.find((d) => d.series_id === id)?.point ??
        (sample && { t, count: 1, min: sample.value, avg: sample.value, max: sample.value });
      if (!point) return;
      const oldest = new Date(Date.now() - rangeSeconds * 1000).toISOString();
      setPoints((prev) => [...prev.filter((p) => p.t >= oldest && p.t !== t), point]);
    });
    return () => {
      cancelled = true;
      unlisten();
    };
  }, [row.check_id, metric, rangeSeconds, live]);

  const buckets = useMemo(() => smokeBuckets(points), [points]);
  const availability = stats?.checks.find((c) => c.check_id === row.check_id)?.availability;

  if (error) return <div class="notification is-danger" role="alert">Could not read the history: {error}.</div>;
  if (!history) return <progress class="progress is-small" aria-label="Loading the history" />;
  const last = buckets[buckets.length - 1];
  return (
    <>
      <div class="columns">
        <Stat label={`${metric}, median of the last interval`} value={last ? ms(last.q.p50) : "–"} testid="last-median" />
        <Stat label="Availability over the range" value={percent(availability ?? null)} testid="availability" />
        <Stat label="Intervals charted" value={String(buckets.length)} testid="intervals" />
        <Stat
          label="Resolution"
          value={`${history.resolution}${history.step ? `, ${history.step / 60} min buckets` : ", one per run"}`}
          testid="resolution"
        />
      </div>
      <SmokeChart
        buckets={buckets}
        label={`${metric} of ${row.check} to ${row.target}`}
        from={Date.now() / 1000 - rangeSeconds}
        to={Date.now() / 1000}
      />
      <LossRow row={row} rangeSeconds={rangeSeconds} />
    </>
  );
}

function LossRow({ row, rangeSeconds }: { row: Latest; rangeSeconds: number }) {
  const [loss, setLoss] = useState<number | null | undefined>(undefined);
  useEffect(() => {
    api
      .GET("/api/v1/series/stats", {
        params: { query: { ...targetQuery(row, ...lastSeconds(rangeSeconds)), metric: "loss" } },
      })
      .then(({ data }) => setLoss(data?.series[0]?.stats.avg ?? null));
  }, [row.check_id, rangeSeconds]);
  if (loss === undefined || loss === null) return null;
  return (
    <p class="block" data-testid="loss">
      Loss over the range: <strong>{percent(loss)}</strong>
    </p>
  );
}

function Stat({ label, value, testid }: { label: string; value: string; testid: string }) {
  return (
    <div class="column">
      <div class="box">
        <p class="heading">{label}</p>
        <p class="title is-5" data-testid={testid}>
          {value}
        </p>
      </div>
    </div>
  );
}
