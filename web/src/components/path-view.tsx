// A traceroute check target's path: the hops of its last run (per-hop
// latency and loss), and the path-change timeline over the chosen range
// with what changed at each change.

import { useEffect, useState } from "preact/hooks";
import { api, problemText } from "../api/client";
import { type Latest, lastSeconds, targetQuery } from "../lib/data";
import { ms, percent } from "../lib/format";
import { hopsAt, type HopRow, type LabelledPoints, pathDiff, pathTimeline, type PathSegment } from "../lib/path";

async function labelled(row: Latest, metric: string, from: Date, to: Date, raw: boolean): Promise<LabelledPoints[]> {
  const { data, error } = await api.GET("/api/v1/series/history", {
    params: {
      query: { ...targetQuery(row, from, to), metric, ...(raw ? { resolution: "raw" as const } : {}) },
    },
  });
  if (!data) throw error;
  return data.series
    .filter((s) => s.series.check_id === row.check_id)
    .map((s) => ({ metric: s.series.metric, labels: s.series.labels, points: s.points }));
}

export function PathView({ row, rangeSeconds }: { row: Latest; rangeSeconds: number }) {
  const [hops, setHops] = useState<HopRow[] | null>(null);
  const [timeline, setTimeline] = useState<PathSegment[]>([]);
  const [error, setError] = useState("");

  useEffect(() => {
    (async () => {
      try {
        // The last run: its samples carry its start time exactly.
        const at = new Date(row.started_at);
        const around = [new Date(at.getTime() - 1000), new Date(at.getTime() + 1000)] as const;
        const [loss, rtt] = await Promise.all([
          labelled(row, "hop_loss", ...around, true),
          labelled(row, "hop_rtt_avg", ...around, true),
        ]);
        setHops(hopsAt([...loss, ...rtt], row.started_at));
        setTimeline(pathTimeline(await labelled(row, "path_fingerprint", ...lastSeconds(rangeSeconds), false)));
        setError("");
      } catch (e) {
        setError(problemText(e));
      }
    })();
  }, [row.result_id, rangeSeconds]);

  if (error) return <div class="notification is-danger" role="alert">Could not read the path: {error}.</div>;
  if (!hops) return <progress class="progress is-small" aria-label="Loading the path" />;
  return (
    <section class="block mt-5" aria-labelledby="path-title">
      <h2 id="path-title" class="title is-5">
        Path of the last run
      </h2>
      <div class="table-container">
        <table class="table is-narrow is-fullwidth" aria-label="Hops" data-testid="hops">
          <thead>
            <tr>
              <th scope="col">Hop</th>
              <th scope="col">Router</th>
              <th scope="col">Latency</th>
              <th scope="col">Loss</th>
            </tr>
          </thead>
          <tbody>
            {hops.map((h) => (
              <tr key={h.hop} data-testid={`hop-${h.hop}`}>
                <td>{h.hop}</td>
                <td class="mono">{h.responders.length ? h.responders.map((r) => r.address).join(" | ") : "*"}</td>
                <td>{h.responders.map((r) => ms(r.rtt)).join(" | ") || "–"}</td>
                <td class={(h.loss ?? 0) > 0 ? "has-text-danger" : ""}>{percent(h.loss, 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2 class="title is-5">Path changes</h2>
      {timeline.length === 0 ? (
        <p class="has-text-grey">No path recorded in this range.</p>
      ) : (
        <ol class="path-timeline" data-testid="path-timeline">
          {timeline.map((s, i) => {
            const changes = i > 0 ? pathDiff(timeline[i - 1]!.path, s.path) : [];
            return (
              <li key={`${s.from}-${i}`} class="mb-2">
                <span class="has-text-weight-semibold">{new Date(s.from).toLocaleString()}</span>
                {s.runs > 1 && <> – {new Date(s.to).toLocaleString()}</>} ({s.runs} {s.runs === 1 ? "run" : "runs"}):{" "}
                <span class="mono">{s.path.split(",").join(" → ")}</span>
                {changes.length > 0 && (
                  <ul class="ml-4 is-size-7">
                    {changes.map((c) => (
                      <li key={c.hop}>
                        hop {c.hop}: <span class="mono">{c.before || "none"}</span> →{" "}
                        <span class="mono">{c.after || "none"}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
