import { clock } from "../lib/format";
import type { Latest } from "../lib/data";
import { noDataSince, type Status } from "../lib/status";

const TONE: Record<Status, string> = {
  ok: "is-success",
  timeout: "is-warning",
  unreachable: "is-danger",
  refused: "is-danger",
  error: "is-danger",
};

export function StatusTag({ status }: { status: Status }) {
  return <span class={`tag ${TONE[status]}`}>{status}</span>;
}

/** A check target's status: its last result's, or "no data since …" once it stopped reporting. */
export function TargetStatus({ row, now }: { row: Latest; now: number }) {
  const since = noDataSince(row, now);
  if (since === null) return <StatusTag status={row.status} />;
  return (
    <span class="tag is-light" data-testid="no-data" title={`Last result: ${row.status}`}>
      no data since {clock(since, now)}
    </span>
  );
}
