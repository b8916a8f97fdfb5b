/** One human-readable line per conversation event worth showing (transcripts, barge-in, tools). */
import type { ConversationEvent } from "./types.js";

/** A human-readable line for a conversation event worth showing (transcripts, barge-in, tools). */
export interface Narration {
  /** ms since the conversation opened. */
  readonly atMs: number;
  readonly who: "agent" | "caller";
  readonly text: string;
}

/**
 * What the demo, `npm run agent` and the events feed print; undefined for events not worth a line.
 * `responseNumber` maps an event id to the response's place in the conversation (1 = the first
 * thing the agent said): event ids also count transcripts, so they are not response numbers.
 */
export function narrate(
  e: ConversationEvent,
  responseNumber: (eventId: number) => number | undefined = () => undefined,
): Narration | undefined {
  if (e.kind === "closed")
    return { atMs: -1, who: "agent", text: `conversation closed ${e.code} by the ${e.by}` };
  const { atMs, type } = e.message;
  const m = e.message.message as Record<string, Record<string, unknown> | string | undefined>;
  const field = (key: string, sub: string) => (m[key] as Record<string, unknown> | undefined)?.[sub];
  const which = (eventId: unknown): string => {
    const n = typeof eventId === "number" ? responseNumber(eventId) : undefined;
    return n === undefined ? `event ${String(eventId)}` : `response ${n}`;
  };
  if (e.kind === "received") {
    if (type === "user_message") return { atMs, who: "agent", text: `received user_message "${m.text}"` };
    if (type === "contextual_update")
      return { atMs, who: "agent", text: `received contextual_update "${m.text}"` };
    if (type === "mcp_tool_approval_result")
      return {
        atMs,
        who: "agent",
        text: `MCP tool call ${(m.is_approved as unknown) === true ? "approved" : "denied"} by the client`,
      };
    if (type === "client_tool_result")
      return {
        atMs,
        who: "agent",
        text: `tool result${(m.is_error as unknown) === true ? " (error)" : ""}: ${JSON.stringify(m.result)}`,
      };
    return undefined;
  }
  switch (type) {
    case "conversation_initiation_metadata":
      return {
        atMs,
        who: "agent",
        text: `conversation ${field("conversation_initiation_metadata_event", "conversation_id")} started (local test agent)`,
      };
    case "agent_response":
      return { atMs, who: "agent", text: `says: "${field("agent_response_event", "agent_response")}"` };
    case "user_transcript":
      return {
        atMs,
        who: "agent",
        text: `heard the caller: ${field("user_transcription_event", "user_transcript")}`,
      };
    case "interruption":
      return {
        atMs,
        who: "agent",
        text: `interrupted by the caller (${which(field("interruption_event", "event_id"))})`,
      };
    case "agent_response_correction":
      return {
        atMs,
        who: "agent",
        text: `was heard up to: "${field("agent_response_correction_event", "corrected_agent_response")}"`,
      };
    case "client_tool_call":
      return {
        atMs,
        who: "agent",
        text: `calls client tool ${field("client_tool_call", "tool_name")} ${JSON.stringify(field("client_tool_call", "parameters") ?? {})}`,
      };
    case "mcp_tool_call":
      return field("mcp_tool_call", "state") === "awaiting_approval"
        ? {
            atMs,
            who: "agent",
            text: `asks approval for MCP tool ${field("mcp_tool_call", "tool_name")} ${JSON.stringify(field("mcp_tool_call", "parameters") ?? {})}`,
          }
        : undefined;
    case "agent_tool_response":
      return { atMs, who: "agent", text: `calls tool ${field("agent_tool_response", "tool_name")}` };
    default:
      return undefined;
  }
}
