// A long table body drawn a window at a time: only the rows in view (and a
// few around them) are in the DOM, between two spacer rows that keep the
// scroll height. Short lists render whole.

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

/** Rows above which the list is windowed. */
export const WINDOW_ABOVE = 200;
/** The fixed height of a windowed row, in pixels (see `.virtual-row`). */
export const ROW_HEIGHT = 36;
const OVERSCAN = 10;

/** The rows to draw for a scroll position: `[first, last)`. */
export function visibleRange(count: number, scrollTop: number, viewport: number): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
  return [first, Math.max(first, last)];
}

export function VirtualTable<T>(props: {
  rows: T[];
  head: ComponentChildren;
  row: (item: T) => ComponentChildren;
  label: string;
  columns: number;
}) {
  const { rows, head, row, label, columns } = props;
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const windowed = rows.length > WINDOW_ABOVE;

  useEffect(() => {
    const el = box.current;
    if (!el || !windowed) return;
    const update = () => setView({ top: el.scrollTop, height: el.clientHeight });
    update();
    el.addEventListener("scroll", update, { passive: true });
    return () => el.removeEventListener("scroll", update);
  }, [windowed]);

  const [first, last] = windowed ? visibleRange(rows.length, view.top, view.height) : [0, rows.length];
  return (
    <div
      ref={box}
      class={`table-container ${windowed ? "virtual-box" : ""}`}
      data-testid="virtual-box"
      data-rows={rows.length}
      tabIndex={windowed ? 0 : undefined}
      aria-label={windowed ? `${label}: ${rows.length} rows, scroll to see more` : undefined}
    >
      <table class={`table is-fullwidth is-hoverable is-narrow ${windowed ? "virtual" : ""}`} aria-label={label} aria-rowcount={rows.length + 1}>
        <thead>{head}</thead>
        <tbody>
          {first > 0 && (
            <tr aria-hidden="true">
              <td colSpan={columns} style={{ height: `${first * ROW_HEIGHT}px`, padding: 0, border: 0 }} />
            </tr>
          )}
          {rows.slice(first, last).map(row)}
          {last < rows.length && (
            <tr aria-hidden="true">
              <td colSpan={columns} style={{ height: `${(rows.length - last) * ROW_HEIGHT}px`, padding: 0, border: 0 }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
