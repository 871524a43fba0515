// How a report's figures read, and the period picker each SLA kind gets.

/** A percentage the server computed (availability), to four decimals as SLAs are written. */
export function percent(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return "–";
  return `${value.toFixed(4)} %`;
}

/** Seconds as `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export { ms as latency } from "./format";

type Kind = "day" | "week" | "month" | "quarter" | "year";

/**
 * The input for a period of `kind`: the browser's own pickers give the
 * server's labels for days (`2026-11-05`), weeks (`2026-W45`) and months
 * (`2026-11`); quarters and years are typed.
 */
export function periodInput(kind: Kind): {
  type: "date" | "week" | "month" | "text";
  placeholder?: string;
  pattern?: string;
} {
  switch (kind) {
    case "day":
      return { type: "date" };
    case "week":
      return { type: "week" };
    case "month":
      return { type: "month" };
    case "quarter":
      return { type: "text", placeholder: "2026-Q4", pattern: "\\d{4}-Q[1-4]" };
    case "year":
      return { type: "text", placeholder: "2026", pattern: "\\d{4}" };
  }
}
