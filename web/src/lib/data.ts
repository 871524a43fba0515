// Reads that several pages share.

import { api, type Schemas } from "../api/client";

export type Agent = Schemas["AgentView"];
export type Latest = Schemas["LatestRow"];

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

export async function latestResults(agentId?: string): Promise<Latest[]> {
  const { data, error } = await api.GET("/api/v1/results/latest", {
    params: { query: agentId ? { agent_id: agentId } : {} },
  });
  if (!data) throw error;
  return data;
}
