// Any metric of a check target, charted in its own unit (bytes, ratio,
// count, seconds…): one line per label set, at most MAX_LINES of them.

import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { api, problemText, type Schemas } from "../api/client";
import { type Latest, lastSeconds, targetQuery } from "../lib/data";
import { withUnit } from "../lib/format";
import { alignLines, seriesName } from "../lib/lines";
import { bucketStep } from "../lib/smoke";

type SeriesInfo = Schemas["SeriesInfo"];

/** More lines than this read as noise; the chart says how many it left out. */
const MAX_LINES = 8;

const COLOURS = ["#485fc7", "#48c78e", "#f14668", "#ffb70f", "#3e8ed0", "#b86bff", "#00a3a3", "#7a7a7a"];

export function MetricChart({ row, series, rangeSeconds }: { row: Latest; series: SeriesInfo[]; rangeSeconds: number }) {
  const metrics = [...new Set(series.map((s) => s.metric))].sort();
  const [metric, setMetric] = useState<string>(metrics[0] ?? "");
  const [lines, setLines] = useState<{ names: string[]; times: number[]; values: (number | null)[][] } | null>(null);
  const [more, setMore] = useState(0);
  const [error, setError] = useState("");
  const box = useRef<HTMLDivElement>(null);
  const unit = series.find((s) => s.metric === metric)?.unit ?? "none";

  useEffect(() => {
    if (!metric) return;
    let cancelled = false;
    setLines(null);
    (async () => {
      const { data, error: problem } = await api.GET("/api/v1/series/history", {
        params: { query: { ...targetQuery(row, ...lastSeconds(rangeSeconds)), metric, step: bucketStep(rangeSeconds) } },
      });
      if (cancelled) return;
      if (!data) {
        setError(problemText(problem));
        return;
      }
      setError("");
      const own = data.series.filter((s) => s.series.check_id === row.check_id);
      const shown = own.slice(0, MAX_LINES).map((s) => ({ labels: s.series.labels, points: s.points }));
      setMore(own.length - shown.length);
      setLines({ names: shown.map((s) => seriesName(s.labels)), ...alignLines(shown) });
    })();
    return () => {
      cancelled = true;
    };
  }, [row.check_id, metric, rangeSeconds]);

  useEffect(() => {
    if (!box.current || !lines?.times.length) return;
    const el = box.current;
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: 180,
        scales: { x: { time: true, range: () => [Date.now() / 1000 - rangeSeconds, Date.now() / 1000] } },
        axes: [
          { stroke: "currentColor" },
          { stroke: "currentColor", size: 80, values: (_u, ticks) => ticks.map((v) => withUnit(v, unit)) },
        ],
        series: [
          {},
          ...lines.names.map((name, i) => ({
            label: name,
            stroke: COLOURS[i % COLOURS.length],
            width: 1.5,
            spanGaps: true,
            value: (_u: uPlot, v: number | null) => (v == null ? "–" : withUnit(v, unit)),
          })),
        ],
      },
      [lines.times, ...lines.values],
      el,
    );
    return () => plot.destroy();
  }, [lines, unit]);

  if (metrics.length === 0) return null;
  return (
    <section class="box" aria-labelledby="metric-chart-title">
      <div class="level">
        <div class="level-left">
          <h2 id="metric-chart-title" class="title is-5">
            Any metric <span class="has-text-grey is-size-7">in its own unit</span>
          </h2>
        </div>
        <div class="level-right">
          <div class="select is-small">
            <select aria-label="Metric to chart" value={metric} onChange={(e) => setMetric(e.currentTarget.value)}>
              {metrics.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </div>
        </div>
      </div>
      {error ? (
        <p class="notification is-warning">Could not chart {metric}: {error}.</p>
      ) : !lines ? (
        <progress class="progress is-small" aria-label="Loading the chart" />
      ) : lines.times.length === 0 ? (
        <p class="has-text-grey">No {metric} in this range.</p>
      ) : (
        <>
          <div
            ref={box}
            role="img"
            aria-label={`${metric} of ${row.check} to ${row.target}, in ${unit}`}
            data-testid="metric-chart"
            data-unit={unit}
            data-lines={lines.names.length}
          />
          {more > 0 && (
            <p class="is-size-7 has-text-grey">
              {more} more series of {metric} are not drawn.
            </p>
          )}
        </>
      )}
    </section>
  );
}
