// An agent's own machine, from its `system` check: CPU (with the last hour
// charted, all cores and each one), memory, swap, load and uptime,
// refreshed as new runs arrive; then the latest run in detail.

import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { api } from "../api/client";
import type { LiveStream } from "../api/live";
import { type Latest, lastSeconds, targetQuery } from "../lib/data";
import { percent, withUnit } from "../lib/format";
import { alignLines } from "../lib/lines";
import { MachineDetails } from "./machine-details";

const METRICS = ["cpu_usage", "memory_used", "memory_total", "swap_used", "swap_total", "load1", "load5", "load15", "uptime"];

type Points = { t: string; avg: number }[];

/** The machine-wide series of each metric (the unlabelled one), and each core's CPU as `cpu_usage/N`. */
async function machine(row: Latest): Promise<Map<string, Points>> {
  const range = targetQuery(row, ...lastSeconds(3600));
  const answers = await Promise.all(
    METRICS.map((metric) => api.GET("/api/v1/series/history", { params: { query: { ...range, metric } } })),
  );
  const out = new Map<string, Points>();
  answers.forEach((a, i) => {
    const own = a.data?.series.filter((s) => s.series.check_id === row.check_id) ?? [];
    const series = own.find((s) => Object.keys(s.series.labels).length === 0);
    if (series) out.set(METRICS[i]!, series.points);
    if (METRICS[i] === "cpu_usage")
      for (const s of own) if (s.series.labels.core !== undefined) out.set(`cpu_usage/${s.series.labels.core}`, s.points);
  });
  return out;
}

function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  return d > 0 ? `${d} d ${h} h` : `${h} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function SystemPanel({ row, live }: { row: Latest; live: LiveStream }) {
  const [data, setData] = useState<Map<string, Points> | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const load = () => machine(row).then(setData);
    load();
    return live.listen((e) => {
      if (e.type === "resync" || (e.type === "result" && e.result.check_id === row.check_id)) load();
    });
  }, [row.check_id, live]);

  useEffect(() => {
    const cpu = data?.get("cpu_usage");
    if (!box.current || !cpu?.length) return;
    const el = box.current;
    const cores = [...data!.keys()]
      .filter((k) => k.startsWith("cpu_usage/"))
      .sort((a, b) => Number(a.split("/")[1]) - Number(b.split("/")[1]));
    // The total and each core on one timeline (one point per run for all).
    const { times, values } = alignLines([cpu, ...cores.map((k) => data!.get(k)!)].map((points) => ({ labels: {}, points })));
    const [total, ...coreValues] = values.map((line) => line.map((v) => (v == null ? null : v * 100)));
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: 140,
        scales: {
          x: { time: true, range: () => [Date.now() / 1000 - 3600, Date.now() / 1000] },
          y: { range: [0, 100] },
        },
        axes: [{ stroke: "currentColor" }, { stroke: "currentColor", label: "CPU %", size: 50 }],
        series: [
          {},
          { label: "CPU", stroke: "rgb(72, 95, 199)", fill: "rgba(72, 95, 199, 0.15)", width: 2 },
          ...cores.map((k) => ({ label: `core ${k.split("/")[1]}`, stroke: "rgba(72, 95, 199, 0.45)", width: 1 })),
        ],
        legend: { show: false },
      },
      [times, total!, ...coreValues],
      el,
    );
    return () => plot.destroy();
  }, [data]);

  if (!data) return <progress class="progress is-small" aria-label="Loading system metrics" />;
  const last = (metric: string) => {
    const points = data.get(metric);
    return points?.length ? points[points.length - 1]!.avg : undefined;
  };
  const cpu = last("cpu_usage");
  const used = last("memory_used");
  const total = last("memory_total");
  const swapUsed = last("swap_used");
  const swapTotal = last("swap_total");
  const loads = ["load1", "load5", "load15"].map(last);
  const up = last("uptime");
  return (
    <section class="box" aria-labelledby="system-title" data-testid="system">
      <h2 id="system-title" class="title is-5">
        This machine <span class="has-text-grey is-size-7">from {row.check}, the last hour</span>
      </h2>
      <div class="columns is-multiline">
        <div class="column">
          <p class="heading">CPU</p>
          <p class="title is-5" data-testid="system-cpu">
            {percent(cpu ?? null, 1)}
          </p>
        </div>
        <div class="column">
          <p class="heading">Memory</p>
          <p class="title is-5" data-testid="system-memory">
            {used !== undefined && total !== undefined ? `${withUnit(used, "bytes")} of ${withUnit(total, "bytes")}` : "–"}
          </p>
        </div>
        <div class="column">
          <p class="heading">Swap</p>
          <p class="title is-5">
            {swapUsed !== undefined && swapTotal ? `${withUnit(swapUsed, "bytes")} of ${withUnit(swapTotal, "bytes")}` : "none"}
          </p>
        </div>
        <div class="column">
          <p class="heading">Load 1 / 5 / 15 min</p>
          <p class="title is-5">{loads.map((l) => (l === undefined ? "–" : l.toFixed(2))).join(" / ")}</p>
        </div>
        <div class="column">
          <p class="heading">Up</p>
          <p class="title is-5">{up === undefined ? "–" : uptime(up)}</p>
        </div>
      </div>
      <div ref={box} role="img" aria-label="CPU usage over the last hour, all cores and each core" data-testid="cpu-chart" />
      <MachineDetails row={row} live={live} />
    </section>
  );
}
