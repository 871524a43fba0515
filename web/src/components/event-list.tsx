// A table of events (matched log lines), newest first: when, where from,
// their labels, and the text as the agent read it.

import type { Schemas } from "../api/client";
import { clock } from "../lib/format";
import { labelPairs } from "../lib/events";

export type EventView = Schemas["EventView"];

/** `compact` leaves out the agent, check and target (a check's own page). */
export function EventList(props: { events: EventView[]; label: string; compact?: boolean; now?: number }) {
  const { events, label, compact = false, now = Date.now() } = props;
  return (
    <div class="table-container">
      <table class="table is-fullwidth is-narrow is-hoverable" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">When</th>
            {!compact && <th scope="col">Agent</th>}
            {!compact && <th scope="col">Check</th>}
            {!compact && <th scope="col">Target</th>}
            <th scope="col">Labels</th>
            <th scope="col">Text</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-testid={`event-${e.id}`}>
              <td class="is-nowrap">
                <time dateTime={e.at} title={new Date(e.at).toISOString()}>
                  {clock(e.at, now)}
                </time>
              </td>
              {!compact && (
                <td class="is-nowrap">
                  <a href={`/agents/${e.agent_id}`}>{e.agent}</a>
                </td>
              )}
              {!compact && <td class="is-nowrap">{e.check}</td>}
              {!compact && <td class="mono">{e.target}</td>}
              <td>
                <div class="tags">
                  {labelPairs(e.labels).map(([k, v]) => (
                    <span key={k} class="tag is-light" title={k}>
                      {k === "source" || k === "pattern" ? v : `${k}=${v}`}
                    </span>
                  ))}
                </div>
              </td>
              <td class="mono event-text">{e.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
