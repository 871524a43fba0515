// A check target's newest events over the chosen range, on its page;
// nothing at all when it has none.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import type { Latest } from "../lib/data";
import { eventQuery, searchPath } from "../lib/events";
import { EventList, type EventView } from "./event-list";

const SHOWN = 10;

export function RecentEvents({ row, now }: { row: Latest; now: number }) {
  const [events, setEvents] = useState<EventView[]>([]);
  const search = { agent_id: row.agent_id, check: row.check, target: row.target, q: "", range: "24h" };

  useEffect(() => {
    let cancelled = false;
    api
      .GET("/api/v1/events", { params: { query: eventQuery(search, new Date(), undefined, SHOWN) } })
      .then(({ data }) => {
        if (!cancelled) setEvents(data?.events ?? []);
      });
    return () => {
      cancelled = true;
    };
  }, [row.check_id, row.started_at]);

  if (events.length === 0) return null;
  return (
    <section class="block mt-5" aria-label="Recent events">
      <h2 class="title is-5">
        Recent events <a class="is-size-6 has-text-weight-normal" href={searchPath(search)}>all of the last day</a>
      </h2>
      <EventList events={events} label={`Recent events of ${row.check}`} compact now={now} />
    </section>
  );
}
