/**
 * Builders for bridge -> agent frames (docs/protocols.md, "ElevenLabs: client to server").
 * Audio is the hot path: built by concatenation (base64 needs no escaping). The rest goes through
 * JSON.stringify on objects typed by `@elevenlabs/types`, so their shape is checked at compile time.
 */
import type {
  ClientToolResultClientToOrchestratorEvent,
  ContextualUpdateClientToOrchestratorEvent,
  ConversationInitiationClientToOrchestratorEvent,
  ConversationOverrides,
  DynamicVariables,
  McpToolApprovalResultClientToOrchestratorEvent,
  PongClientToOrchestratorEvent,
  UserActivityClientToOrchestratorEvent,
  UserMessageClientToOrchestratorEvent,
} from "./messages.js";

export function userAudioFrame(base64: string): string {
  return `{"user_audio_chunk":"${base64}"}`;
}

export function pongFrame(eventId: number): string {
  const msg: PongClientToOrchestratorEvent = { type: "pong", event_id: eventId };
  return JSON.stringify(msg);
}

export function initiationFrame(
  dynamicVariables: DynamicVariables,
  overrides: ConversationOverrides,
): string {
  const msg: ConversationInitiationClientToOrchestratorEvent = {
    type: "conversation_initiation_client_data",
    dynamic_variables: dynamicVariables,
  };
  const agent: Record<string, unknown> = {};
  // Only fields explicitly configured: an override the agent has not enabled closes the call (1008).
  if (overrides.prompt !== undefined) agent.prompt = { prompt: overrides.prompt };
  if (overrides.firstMessage !== undefined) agent.first_message = overrides.firstMessage;
  if (overrides.language !== undefined) agent.language = overrides.language;
  const override: Record<string, unknown> = {};
  if (Object.keys(agent).length > 0) override.agent = agent;
  if (overrides.voiceId !== undefined) override.tts = { voice_id: overrides.voiceId };
  if (Object.keys(override).length > 0) {
    msg.conversation_config_override =
      override as ConversationInitiationClientToOrchestratorEvent["conversation_config_override"];
  }
  return JSON.stringify(msg);
}

export function userMessageFrame(text: string): string {
  const msg: UserMessageClientToOrchestratorEvent = { type: "user_message", text };
  return JSON.stringify(msg);
}

export function contextualUpdateFrame(text: string): string {
  const msg: ContextualUpdateClientToOrchestratorEvent = { type: "contextual_update", text };
  return JSON.stringify(msg);
}

export function clientToolResultFrame(toolCallId: string, result: string, isError: boolean): string {
  const msg: ClientToolResultClientToOrchestratorEvent = {
    type: "client_tool_result",
    tool_call_id: toolCallId,
    result,
    is_error: isError,
  };
  return JSON.stringify(msg);
}

/**
 * Tells the agent the caller is active without speaking (typing DTMF), so its turn-taking does not
 * start talking over the digits. No payload: the official client sends exactly this.
 */
export function userActivityFrame(): string {
  const msg: UserActivityClientToOrchestratorEvent = { type: "user_activity" };
  return JSON.stringify(msg);
}

/** The answer to an `mcp_tool_call` in state `awaiting_approval`. */
export function mcpToolApprovalFrame(toolCallId: string, isApproved: boolean): string {
  const msg: McpToolApprovalResultClientToOrchestratorEvent = {
    type: "mcp_tool_approval_result",
    tool_call_id: toolCallId,
    is_approved: isApproved,
  };
  return JSON.stringify(msg);
}
