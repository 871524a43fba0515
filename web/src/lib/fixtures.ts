// Results of check targets for the tests of what pages compute from them.

import type { Latest } from "./data";

/**
 * The latest result of check target `check_id`: check `check-<id>` on agent
 * `edge-1` unless `names` says otherwise, at a 5 s interval.
 */
export function latestRow(
  check_id: number,
  status: Latest["status"],
  started_at: string,
  names: { check?: string; agent?: string } = {},
): Latest {
  const agent = names.agent ?? "edge-1";
  return {
    check_id,
    agent_id: `id-${agent}`,
    agent,
    check: names.check ?? `check-${check_id}`,
    target: "127.0.0.1:22",
    plugin: "tcp",
    plugin_version: "0.1.0",
    result_id: `${check_id}-${started_at}`,
    status,
    started_at,
    duration: 0.01,
    current: true,
    interval_ms: 5000,
  };
}
