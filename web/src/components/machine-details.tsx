// The latest run of an agent's `system` check in detail: its cores, disks
// and interfaces, and a sortable process table. Read again as new runs of
// that check arrive.

import { useEffect, useState } from "preact/hooks";
import { api, problemText } from "../api/client";
import type { LiveStream } from "../api/live";
import type { Latest } from "../lib/data";
import { withUnit } from "../lib/format";
import { type Machine, machine, type ProcessKey, sortProcesses } from "../lib/machine";

const COLUMNS: { key: ProcessKey; label: string; numeric: boolean }[] = [
  { key: "pid", label: "PID", numeric: true },
  { key: "name", label: "Name", numeric: false },
  { key: "user", label: "User", numeric: false },
  { key: "cpu", label: "CPU", numeric: true },
  { key: "memory", label: "Memory", numeric: true },
  { key: "threads", label: "Threads", numeric: true },
  { key: "handles", label: "Handles", numeric: true },
];

const rate = (v: number | undefined, unit: string) => (v === undefined ? "–" : `${withUnit(v, unit)}/s`);
const count = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(v < 10 && !Number.isInteger(v) ? 2 : 0));
const share = (v: number | undefined) => (v === undefined ? "–" : withUnit(v, "ratio"));

export function MachineDetails({ row, live }: { row: Latest; live: LiveStream }) {
  const [data, setData] = useState<Machine | null>(null);
  const [failed, setFailed] = useState("");
  const [sort, setSort] = useState<{ key: ProcessKey; descending: boolean }>({ key: "cpu", descending: true });

  useEffect(() => {
    const load = async () => {
      const { data: run, error } = await api.GET("/api/v1/results/latest/samples", {
        params: { query: { agent_id: row.agent_id, check: row.check, target: row.target } },
      });
      if (run) setData(machine(run.samples));
      else setFailed(problemText(error));
    };
    load();
    return live.listen((e) => {
      if (e.type === "resync" || (e.type === "result" && e.result.check_id === row.check_id)) load();
    });
  }, [row.check_id, live]);

  if (failed) return <p class="notification is-warning">The latest system run could not be read: {failed}.</p>;
  if (!data) return <progress class="progress is-small" aria-label="Loading the latest system run" />;
  const processes = sortProcesses(data.processes, sort.key, sort.descending);
  const by = (key: ProcessKey, numeric: boolean) =>
    setSort((s) => ({ key, descending: s.key === key ? !s.descending : numeric }));
  return (
    <>
      <div class="columns is-multiline">
        <section class="column is-half" aria-labelledby="cores-title" data-testid="cores">
          <h3 id="cores-title" class="title is-6">Cores</h3>
          <table class="table is-narrow is-fullwidth">
            <thead>
              <tr>
                <th>Core</th>
                <th>Use</th>
                <th>Frequency</th>
              </tr>
            </thead>
            <tbody>
              {data.cores.map((c) => (
                <tr key={c.core} data-testid={`core-${c.core}`}>
                  <td>{c.core}</td>
                  <td>
                    <progress class="progress is-small is-link mb-0" value={(c.usage ?? 0) * 100} max={100} aria-label={`Core ${c.core} use`}>
                      {share(c.usage)}
                    </progress>
                    <span class="is-size-7">{share(c.usage)}</span>
                  </td>
                  <td>{c.hertz === undefined ? "–" : `${(c.hertz / 1e9).toFixed(2)} GHz`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="column is-half" aria-labelledby="disks-title" data-testid="disks">
          <h3 id="disks-title" class="title is-6">Disks</h3>
          <table class="table is-narrow is-fullwidth">
            <thead>
              <tr>
                <th>Mount</th>
                <th>Used</th>
                <th>Size</th>
              </tr>
            </thead>
            <tbody>
              {data.disks.map((d) => (
                <tr key={d.mount}>
                  <td class="mono">{d.mount}</td>
                  <td>{d.total && d.available !== undefined ? share((d.total - d.available) / d.total) : "–"}</td>
                  <td>{d.total === undefined ? "–" : withUnit(d.total, "bytes")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table class="table is-narrow is-fullwidth" aria-label="Disk I/O">
            <thead>
              <tr>
                <th>Device</th>
                <th>Read</th>
                <th>Written</th>
                <th>IOPS</th>
                <th>Busy</th>
              </tr>
            </thead>
            <tbody>
              {data.io.map((d) => (
                <tr key={d.device} data-testid={`disk-${d.device}`}>
                  <td class="mono">{d.device}</td>
                  <td>{rate(d.read, "bytes")}</td>
                  <td>{rate(d.written, "bytes")}</td>
                  <td>{d.reads === undefined && d.writes === undefined ? "–" : count((d.reads ?? 0) + (d.writes ?? 0))}</td>
                  <td>{share(d.busy)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="column is-full" aria-labelledby="interfaces-title" data-testid="interfaces">
          <h3 id="interfaces-title" class="title is-6">Interfaces</h3>
          <table class="table is-narrow is-fullwidth">
            <thead>
              <tr>
                <th>Interface</th>
                <th>Received</th>
                <th>Sent</th>
                <th>Errors in / out</th>
                <th>Drops in / out</th>
              </tr>
            </thead>
            <tbody>
              {data.interfaces.map((n) => (
                <tr key={n.name} data-testid={`interface-${n.name}`}>
                  <td class="mono">{n.name}</td>
                  <td>{rate(n.rx, "bytes")}</td>
                  <td>{rate(n.tx, "bytes")}</td>
                  <td>
                    {count(n.rxErrors)} / {count(n.txErrors)}
                  </td>
                  <td>
                    {count(n.rxDropped)} / {count(n.txDropped)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <h3 class="title is-6">Processes</h3>
      <div class="table-container">
        <table class="table is-narrow is-striped is-fullwidth" data-testid="processes" aria-label="Processes of the latest run">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  aria-sort={sort.key === c.key ? (sort.descending ? "descending" : "ascending") : undefined}
                >
                  <button type="button" class="button is-white is-small px-0" onClick={() => by(c.key, c.numeric)}>
                    {c.label}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {processes.map((p) => (
              <tr key={p.pid} data-testid="process">
                <td class="mono">{p.pid}</td>
                <td>{p.name}</td>
                <td>{p.user}</td>
                <td>{share(p.cpu)}</td>
                <td data-testid="process-memory" data-value={p.memory}>
                  {p.memory === undefined ? "–" : withUnit(p.memory, "bytes")}
                </td>
                <td>{count(p.threads)}</td>
                <td>{count(p.handles)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {processes.length === 0 && <p class="has-text-grey">This check reports no processes (top_processes is 0).</p>}
    </>
  );
}
