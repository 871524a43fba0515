import type { Status } from "../lib/status";

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
