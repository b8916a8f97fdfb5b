/**
 * Where the agent service lives (docs/protocols.md, "Hosts and authentication"): every server in
 * ElevenLabs' published API reference. The wrong region for an agent answers "agent does not
 * exist", so the region is configuration; ELEVENLABS_BASE_URL overrides it (proxies, tests).
 */

export const REGION_HOSTS = {
  default: "api.elevenlabs.io",
  us: "api.us.elevenlabs.io",
  eu: "api.eu.residency.elevenlabs.io",
  india: "api.in.residency.elevenlabs.io",
  singapore: "api.sg.residency.elevenlabs.io",
} as const;

export type ElevenLabsRegion = keyof typeof REGION_HOSTS;

export interface AgentEndpoints {
  /** `https://host[/prefix]`, no trailing slash. */
  readonly restBase: string;
  /** `wss://host[/prefix]`, no trailing slash. */
  readonly wsBase: string;
}

export function agentEndpoints(region: ElevenLabsRegion, baseUrl?: string): AgentEndpoints {
  const rest = (baseUrl ?? `https://${REGION_HOSTS[region]}`).replace(/\/+$/, "");
  const ws = rest.replace(/^http/, "ws");
  return { restBase: rest, wsBase: ws };
}

export function signedUrlEndpoint(endpoints: AgentEndpoints, agentId: string): string {
  return `${endpoints.restBase}/v1/convai/conversation/get-signed-url?agent_id=${encodeURIComponent(agentId)}`;
}

/** URL for a public agent (no API key configured). */
export function publicConversationUrl(endpoints: AgentEndpoints, agentId: string): string {
  return `${endpoints.wsBase}/v1/convai/conversation?agent_id=${encodeURIComponent(agentId)}`;
}
