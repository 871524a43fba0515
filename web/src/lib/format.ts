// How numbers and times read on the page.

/** Seconds (the stored unit of every duration) as milliseconds, with the precision that matters. */
export function ms(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  const v = seconds * 1e3;
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ms`;
}

export function percent(ratio: number | null | undefined, digits = 2): string {
  if (ratio == null || !Number.isFinite(ratio)) return "–";
  return `${(ratio * 100).toFixed(digits)} %`;
}

/** "12 s ago", "3 min ago"… relative to `now` (ms). */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A moment as a clock time, with the date when it is not the day of `now`. */
export function clock(iso: string, now = Date.now()): string {
  const t = new Date(iso);
  const time = t.toLocaleTimeString(undefined, { hour12: false });
  return t.toDateString() === new Date(now).toDateString() ? time : `${t.toLocaleDateString()} ${time}`;
}

/** A value in its stored unit (`seconds`, `ratio`, `bytes`, …) for reading. */
export function withUnit(value: number, unit: string): string {
  switch (unit) {
    case "seconds":
      return ms(value);
    case "ratio":
      return percent(value);
    case "bytes":
      if (value >= 2 ** 30) return `${(value / 2 ** 30).toFixed(1)} GiB`;
      return value >= 2 ** 20 ? `${(value / 2 ** 20).toFixed(1)} MiB` : `${(value / 1024).toFixed(1)} KiB`;
    default:
      return Number.isInteger(value) ? String(value) : value.toFixed(3);
  }
}
