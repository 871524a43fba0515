// Reports: an SLA and a period picked, the report shown (availability
// against the objective and the period before, the error budget,
// incidents, latency, the check targets least available first) with
// links to download it as CSV, HTML or PDF.

import { useEffect, useState } from "preact/hooks";
import { api, problemText, type Schemas } from "../api/client";
import { duration, latency, percent, periodInput } from "../lib/reports";

type SlaView = Schemas["SlaView"];
type Report = Schemas["Report"];
type Figures = Schemas["Figures"];

export function ReportsPage() {
  const [slas, setSlas] = useState<SlaView[] | null>(null);
  const [name, setName] = useState("");
  const [period, setPeriod] = useState("");
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    api.GET("/api/v1/slas").then(({ data, error }) => {
      if (!data) {
        setError(problemText(error));
        return;
      }
      setSlas(data);
      if (data[0]) setName(data[0].spec.name);
    });
  }, []);

  const sla = slas?.find((s) => s.spec.name === name);
  const query = (format: string) => {
    const q = new URLSearchParams({ sla: name, format });
    if (period) q.set("period", period);
    return `/api/v1/reports?${q}`;
  };
  const show = async () => {
    setLoading(true);
    const { data, error } = await api.GET("/api/v1/reports", {
      params: { query: { sla: name, ...(period ? { period } : {}) } },
    });
    setLoading(false);
    // Asked without `format`: the JSON form (the others are text).
    const json = data && typeof data === "object" ? (data as Report) : null;
    setReport(json);
    setError(json ? "" : problemText(error));
  };

  if (slas === null) return error ? <p class="notification is-danger">{error}</p> : <progress class="progress is-small" />;
  return (
    <div class="container is-fluid">
      <h1 class="title">Reports</h1>
      {slas.length === 0 ? (
        <p class="notification">
          No SLA yet: save one with <span class="mono">PUT /api/v1/slas/NAME</span> (see docs/reports.md).
        </p>
      ) : (
        <form
          class="field is-grouped is-grouped-multiline"
          onSubmit={(e) => {
            e.preventDefault();
            show();
          }}
        >
          <div class="control">
            <label class="label" for="report-sla">
              SLA
            </label>
            <div class="select">
              <select
                id="report-sla"
                value={name}
                onChange={(e) => {
                  setName(e.currentTarget.value);
                  setPeriod("");
                  setReport(null);
                }}
              >
                {slas.map((s) => (
                  <option key={s.spec.name} value={s.spec.name}>
                    {s.spec.name} ({s.spec.objective} %, {s.spec.period})
                  </option>
                ))}
              </select>
            </div>
          </div>
          {sla && (
            <div class="control">
              <label class="label" for="report-period">
                Period
              </label>
              <PeriodInput kind={sla.spec.period} value={period} onChange={setPeriod} />
            </div>
          )}
          <div class="control is-align-self-flex-end">
            <button type="submit" class={`button is-primary ${loading ? "is-loading" : ""}`}>
              Show
            </button>
          </div>
          <div class="control is-align-self-flex-end buttons">
            <a class="button" href={query("csv")} download>
              CSV
            </a>
            <a class="button" href={query("html")} target="_blank" rel="noopener">
              HTML
            </a>
            <a class="button" href={query("pdf")} download>
              PDF
            </a>
          </div>
        </form>
      )}
      {error && (
        <p class="notification is-danger is-light" role="alert">
          {error}
        </p>
      )}
      {report && <ReportView report={report} />}
    </div>
  );
}

function ReportView({ report }: { report: Report }) {
  const s = report.summary;
  const met = s.availability == null ? undefined : s.availability >= report.objective;
  return (
    <section data-testid="report">
      <h2 class="subtitle">
        {report.sla} — {report.period.label}{" "}
        <span class="has-text-grey is-size-6">
          {new Date(report.period.from).toLocaleString()} to {new Date(report.period.to).toLocaleString()} (
          {report.period.timezone})
        </span>
      </h2>
      <div class="columns is-multiline">
        <Card label="Availability" testid="report-availability" tone={met === undefined ? "" : met ? "has-text-success" : "has-text-danger"}>
          {percent(s.availability)}
        </Card>
        <Card label="Objective">{report.objective} %</Card>
        <Card label="Previous period">{percent(report.previous.availability)}</Card>
        <Card label="Error budget left">
          {s.error_budget ? `${(s.error_budget.remaining * 100).toFixed(1)} %` : "–"}
        </Card>
        <Card label="Incidents">{s.incidents}</Card>
        {report.count_by === "alerts" ? (
          <Card label="Time firing" testid="report-firing">
            {duration(s.down_seconds)}
          </Card>
        ) : (
          <Card label="Failed runs">
            {s.failed_runs} of {s.runs}
          </Card>
        )}
        <Card label="MTTR">{duration(s.mttr_seconds)}</Card>
        <Card label="Latency p95">{latency(s.latency?.p95)}</Card>
        <Card label="Loss">{s.loss == null ? "–" : percent(s.loss * 100)}</Card>
      </div>
      <div class="table-container">
        <table class="table is-fullwidth is-narrow is-hoverable" aria-label="Check targets">
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Target</th>
              <th scope="col">Agents</th>
              <th scope="col">Availability</th>
              <th scope="col">Failed runs</th>
              <th scope="col">Incidents</th>
              <th scope="col">p95</th>
            </tr>
          </thead>
          <tbody>
            {report.targets.map((t) => (
              <TargetRow key={`${t.check}@${t.target}`} t={t} />
            ))}
          </tbody>
        </table>
      </div>
      <h3 class="subtitle is-6">Incidents</h3>
      {report.incidents.length === 0 ? (
        <p>None in this period.</p>
      ) : (
        <table class="table is-fullwidth is-narrow" aria-label="Incidents">
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Target</th>
              <th scope="col">Start</th>
              <th scope="col">Duration</th>
              <th scope="col">First failing agents</th>
              <th scope="col">Alert rules</th>
              <th scope="col">Suppressed alerts</th>
            </tr>
          </thead>
          <tbody>
            {report.incidents.map((i) => (
              <tr key={`${i.check}@${i.target}@${i.start}`}>
                <td>{i.check}</td>
                <td class="mono">{i.target}</td>
                <td>{new Date(i.start).toLocaleString()}</td>
                <td>
                  {duration(i.duration_seconds)}
                  {i.ongoing ? ", ongoing" : ""}
                </td>
                <td>{i.first_agents.join(", ")}</td>
                <td>{i.rules.join(", ")}</td>
                <td>
                  {(i.suppressed ?? []).map((s) => (
                    <div key={`${s.rule}@${s.check}@${s.target}`}>
                      {s.check} → {s.target} ({s.rule}
                      {s.agents.length ? ` on ${s.agents.join(", ")}` : ""})
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function TargetRow({ t }: { t: Schemas["TargetFigures"] }) {
  const f: Figures = t;
  return (
    <tr data-testid={`report-target-${t.check}`}>
      <td>{t.check}</td>
      <td class="mono">{t.target}</td>
      <td>{t.agents}</td>
      <td>{percent(f.availability)}</td>
      <td>
        {f.failed_runs} / {f.runs}
      </td>
      <td>{f.incidents}</td>
      <td>{latency(f.latency?.p95)}</td>
    </tr>
  );
}

function PeriodInput(props: { kind: SlaView["spec"]["period"]; value: string; onChange: (v: string) => void }) {
  const picker = periodInput(props.kind);
  const common = {
    id: "report-period",
    class: "input",
    value: props.value,
    onInput: (e: { currentTarget: HTMLInputElement }) => props.onChange(e.currentTarget.value),
  };
  return picker.type === "text" ? (
    <input {...common} type="text" placeholder={picker.placeholder} pattern={picker.pattern} />
  ) : (
    <input {...common} type={picker.type} />
  );
}

function Card(props: { label: string; children: preact.ComponentChildren; tone?: string; testid?: string }) {
  return (
    <div class="column is-3">
      <div class="box">
        <p class="heading">{props.label}</p>
        <p class={`title is-5 ${props.tone ?? ""}`} data-testid={props.testid}>
          {props.children}
        </p>
      </div>
    </div>
  );
}
