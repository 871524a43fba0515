// The mesh matrix of a mesh check: agent × agent, latency and loss of the
// latest run of each pair, coloured against the matrix; a cell leads to its
// check target.

import { useEffect, useState } from "preact/hooks";
import { api, problemText, type Schemas } from "../api/client";
import type { LiveStream } from "../api/live";
import { latestResults } from "../lib/data";
import { ms, percent } from "../lib/format";
import { buildMatrix, type Cell, type Tone } from "../lib/matrix";
import { navigate } from "../router";

type CheckView = Schemas["CheckView"];

export function MeshIndex() {
  const [checks, setChecks] = useState<CheckView[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api.GET("/api/v1/checks").then(({ data, error }) => {
      if (data) setChecks(data.filter((c) => c.spec.mesh));
      else setError(problemText(error));
    });
  }, []);
  if (error) return <div class="notification is-danger" role="alert">Could not read the checks: {error}.</div>;
  if (!checks) return <progress class="progress is-small" aria-label="Loading" />;
  return (
    <div class="container is-fluid">
      <h1 class="title">Mesh</h1>
      {checks.length === 0 ? (
        <p>No mesh check is defined: a check with <span class="mono">mesh = {"{ group = … }"}</span> probes every agent of a group from every other.</p>
      ) : (
        <ul>
          {checks.map((c) => (
            <li key={c.spec.name}>
              <a href={`/mesh/${encodeURIComponent(c.spec.name)}`}>{c.spec.name}</a> ({c.spec.plugin}, group{" "}
              {c.spec.mesh?.group})
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

const TONE: Record<Tone, string> = {
  self: "has-background-grey-lighter",
  missing: "has-background-white-ter",
  good: "has-background-success-light",
  fair: "has-background-warning-light",
  slow: "has-background-warning",
  lossy: "has-background-danger-light",
  down: "has-background-danger has-text-white",
};

export function MeshPage({ name, live }: { name: string; live: LiveStream }) {
  const [rows, setRows] = useState<Cell[][] | null>(null);
  const [agents, setAgents] = useState<string[]>([]);
  const [error, setError] = useState("");

  const load = async () => {
    const { data, error } = await api.GET("/api/v1/checks/{name}/mesh", { params: { path: { name } } });
    if (!data) {
      setError(problemText(error));
      return;
    }
    setAgents(data.agents);
    setRows(buildMatrix(data));
    setError("");
  };

  useEffect(() => {
    load();
    let pending: ReturnType<typeof setTimeout> | undefined;
    const unlisten = live.listen((event) => {
      // A new run of this check: read the matrix again, at most once a second.
      if (event.type === "resync" || (event.type === "result" && event.result.check === name)) {
        clearTimeout(pending);
        pending = setTimeout(load, 1000);
      }
    });
    return () => {
      clearTimeout(pending);
      unlisten();
    };
  }, [name, live]);

  const open = async (cell: Cell) => {
    const found = (await latestResults()).find(
      (r) => r.agent === cell.from && r.check === name && r.target === cell.target,
    );
    if (found) navigate(`/checks/${found.check_id}`);
  };

  if (error) return <div class="notification is-danger" role="alert">Could not read the mesh: {error}.</div>;
  if (!rows) return <progress class="progress is-small" aria-label="Loading" />;
  return (
    <div class="container is-fluid">
      <h1 class="title">Mesh: {name}</h1>
      <p class="mb-3">
        Rows probe columns. Green is near the matrix's median latency, yellow slower, red loss or failure.
      </p>
      <div class="table-container">
        <table class="table is-bordered is-narrow" aria-label={`Mesh matrix of ${name}`} data-testid="mesh-matrix">
          <thead>
            <tr>
              <th scope="col">from \ to</th>
              {agents.map((a) => (
                <th scope="col" key={a}>
                  {a}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={agents[i]}>
                <th scope="row">{agents[i]}</th>
                {row.map((cell) => (
                  <td key={cell.to} class={TONE[cell.tone]} data-testid={`cell-${cell.from}-${cell.to}`} data-tone={cell.tone}>
                    {cell.tone === "self" ? (
                      "–"
                    ) : cell.tone === "missing" ? (
                      <span class="has-text-grey">no result</span>
                    ) : (
                      <button
                        type="button"
                        class="button is-ghost is-small p-0"
                        onClick={() => open(cell)}
                        aria-label={`${cell.from} to ${cell.to}: ${cell.status}, ${ms(cell.latency)}, loss ${percent(cell.loss, 0)}`}
                      >
                        {ms(cell.latency)}
                        {cell.loss !== undefined && cell.loss > 0 && <> · {percent(cell.loss, 0)}</>}
                      </button>
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
