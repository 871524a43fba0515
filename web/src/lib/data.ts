// Reads that several pages share.

import { api, type Schemas } from "../api/client";

export type Agent = Schemas["AgentView"];
/** The latest result of a check target, with whether its check still has it. */
export type Latest = Schemas["LatestResult"];
/** A result as the live stream sends it. */
export type LiveResult = Schemas["LatestRow"];

/** Every agent, following the cursor through the pages. */
export async function allAgents(): Promise<Agent[]> {
  const agents: Agent[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const { data, error } = await api.GET("/api/v1/agents", { params: { query: { limit: 1000, cursor } } });
    if (!data) throw error;
    agents.push(...data.items);
    cursor = data.next_cursor ?? undefined;
    if (!cursor) break;
  }
  return agents;
}

/** The series query of one check target over `[from, to]`. */
export function targetQuery(row: Pick<Latest, "agent_id" | "check" | "target">, from: Date, to: Date) {
  return { agent_id: row.agent_id, check: row.check, target: row.target, from: from.toISOString(), to: to.toISOString() };
}

/** The range of the last `seconds`, ending now. */
export function lastSeconds(seconds: number): [Date, Date] {
  const to = new Date();
  return [new Date(to.getTime() - seconds * 1000), to];
}

export async function latestResults(agentId?: string): Promise<Latest[]> {
  const { data, error } = await api.GET("/api/v1/results/latest", {
    params: { query: agentId ? { agent_id: agentId } : {} },
  });
  if (!data) throw error;
  return data;
}
