// The smoke chart: the median as a line, the 25–75 % and 5–95 % ranges as
// bands around it, min and max as faint lines; in milliseconds.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { type Bucket, smokeColumns } from "../lib/smoke";

/** `from` and `to` (seconds since the epoch) span the x axis whatever the data covers. */
export function SmokeChart(props: { buckets: Bucket[]; label: string; from: number; to: number }) {
  const { buckets, label } = props;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const span = useRef({ from: props.from, to: props.to });
  span.current = { from: props.from, to: props.to };

  useEffect(() => {
    const el = box.current!;
    const band = (alpha: number) => `rgba(72, 95, 199, ${alpha})`;
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height: 320,
      scales: { x: { time: true, range: () => [span.current.from, span.current.to] }, y: { range: (_u, min, max) => [Math.max(0, min * 0.9), max * 1.1 || 1] } },
      axes: [
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" } },
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" }, label: "ms", size: 60 },
      ],
      series: [
        {},
        { label: "p5", stroke: band(0.25), width: 1 },
        { label: "p25", stroke: band(0.5), width: 1 },
        { label: "median", stroke: "rgb(72, 95, 199)", width: 2 },
        { label: "p75", stroke: band(0.5), width: 1 },
        { label: "p95", stroke: band(0.25), width: 1 },
        { label: "min", stroke: "rgba(128,128,128,0.5)", width: 1, dash: [4, 4] },
        { label: "max", stroke: "rgba(128,128,128,0.5)", width: 1, dash: [4, 4] },
      ],
      bands: [
        { series: [5, 1], fill: band(0.12) },
        { series: [4, 2], fill: band(0.25) },
      ],
    };
    plot.current = new uPlot(opts, smokeColumns(buckets, 1e3) as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 320 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(smokeColumns(buckets, 1e3) as uPlot.AlignedData);
  }, [buckets]);

  return (
    <figure>
      <div ref={box} class="chart" role="img" aria-label={label} data-testid="smoke-chart" data-buckets={buckets.length} />
      <figcaption class="is-size-7 has-text-grey">
        {label}: median line; shaded 25–75 % and 5–95 % of the values per interval; dashed min and max.
      </figcaption>
    </figure>
  );
}
