/**
 * ElevenLabs Agents WebSocket protocol, normalised into typed events.
 * Reference: docs/protocols.md, "ElevenLabs"; raw shapes come from the official generated types in
 * `@elevenlabs/types` (pinned), so a protocol change shows up as a type error here first.
 * This folder is the only place that knows agent event names.
 */
import type {
  ClientToolResultClientToOrchestratorEvent,
  ContextualUpdateClientToOrchestratorEvent,
  ConversationInitiationClientToOrchestratorEvent,
  McpToolApprovalResultClientToOrchestratorEvent,
  PongClientToOrchestratorEvent,
  UserActivityClientToOrchestratorEvent,
  UserMessageClientToOrchestratorEvent,
} from "@elevenlabs/types";

export type {
  ClientToolResultClientToOrchestratorEvent,
  ContextualUpdateClientToOrchestratorEvent,
  ConversationInitiationClientToOrchestratorEvent,
  McpToolApprovalResultClientToOrchestratorEvent,
  PongClientToOrchestratorEvent,
  UserActivityClientToOrchestratorEvent,
  UserMessageClientToOrchestratorEvent,
};

export interface MetadataEvent {
  readonly type: "metadata";
  readonly conversationId: string;
  /**
   * Names as sent (`pcm_16000`...), validated by the call against audio/formats. A format the
   * metadata leaves out is `pcm_16000`, the official client's default, and `formatsAssumed` says so.
   */
  readonly agentOutputAudioFormat: string;
  readonly userInputAudioFormat: string;
  /** True when either format was missing and assumed: worth a warning in the call's log. */
  readonly formatsAssumed: boolean;
}

export interface AudioEvent {
  readonly type: "audio";
  readonly audioBase64: string;
  readonly eventId: number;
}

export interface AgentResponseEvent {
  readonly type: "agent_response";
  readonly text: string;
  readonly eventId?: number;
}

export interface AgentResponseCorrectionEvent {
  readonly type: "agent_response_correction";
  readonly original: string;
  readonly corrected: string;
  readonly eventId?: number;
}

export interface UserTranscriptEvent {
  readonly type: "user_transcript";
  readonly text: string;
  readonly eventId?: number;
}

export interface TentativeUserTranscriptEvent {
  readonly type: "tentative_user_transcript";
  readonly text: string;
}

export interface InterruptionEvent {
  readonly type: "interruption";
  readonly eventId: number;
}

export interface PingEvent {
  readonly type: "ping";
  readonly eventId: number;
  readonly pingMs: number | null;
}

export interface ClientToolCallEvent {
  readonly type: "client_tool_call";
  readonly toolName: string;
  readonly toolCallId: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly eventId?: number;
}

export interface AgentToolResponseEvent {
  readonly type: "agent_tool_response";
  readonly toolName: string;
  readonly toolCallId: string;
  readonly toolType: string;
  readonly isError: boolean;
  readonly isCalled: boolean;
  readonly eventId?: number;
}

export interface VadScoreEvent {
  readonly type: "vad_score";
  readonly score: number;
}

export interface TentativeAgentResponseEvent {
  readonly type: "internal_tentative_agent_response";
  readonly text: string;
}

/** Both shapes: the typed `error_event` and the flat `{"type":"error","message":...}`. */
export interface AgentErrorEvent {
  readonly type: "error";
  readonly code?: number;
  readonly message: string;
  readonly errorType?: string;
  readonly reason?: string;
}

export type McpToolCallState = "loading" | "awaiting_approval" | "success" | "failure";

/**
 * A server-side MCP tool call. In `awaiting_approval` the agent waits (up to
 * `approvalTimeoutSecs`) for an `mcp_tool_approval_result`: see decideMcpApproval.
 */
export interface McpToolCallEvent {
  readonly type: "mcp_tool_call";
  /** One of McpToolCallState, or a state added later (passed through, never acted on). */
  readonly state: string;
  readonly toolCallId: string;
  readonly toolName: string;
  readonly serviceId: string;
  readonly approvalTimeoutSecs?: number;
  readonly errorMessage?: string;
}

/**
 * Documented server events this bridge has no use for: accepted silently, never an error.
 * The list is the server event names in `@elevenlabs/types` that the parser does not turn into
 * their own events.
 */
export const IGNORED_AGENT_EVENT_TYPES = [
  "agent_chat_response_part",
  "agent_reasoning_response_part",
  "agent_tool_request",
  "agent_tool_response_full_payload",
  "agent_typing",
  "asr_initiation_metadata",
  "context_usage",
  "external_agent_connected",
  "external_agent_disconnected",
  "guardrail_triggered",
  "internal_turn_probability",
  "mcp_connection_status",
  "rich_content",
] as const;
export type IgnoredAgentEventType = (typeof IGNORED_AGENT_EVENT_TYPES)[number];

export interface IgnoredAgentEvent {
  readonly type: "ignored";
  readonly name: IgnoredAgentEventType;
}

/** A type this bridge does not know (the service adds new ones): debug-logged, ignored. */
export interface UnknownAgentEvent {
  readonly type: "unknown";
  readonly name: string;
}

export type AgentEvent =
  | MetadataEvent
  | AudioEvent
  | AgentResponseEvent
  | AgentResponseCorrectionEvent
  | UserTranscriptEvent
  | TentativeUserTranscriptEvent
  | InterruptionEvent
  | PingEvent
  | ClientToolCallEvent
  | AgentToolResponseEvent
  | VadScoreEvent
  | TentativeAgentResponseEvent
  | AgentErrorEvent
  | McpToolCallEvent
  | IgnoredAgentEvent
  | UnknownAgentEvent;

export type AgentParseErrorCode =
  | "invalid_json"
  | "not_an_object"
  | "missing_type"
  | "missing_field"
  | "invalid_field";

export interface AgentParseError {
  readonly code: AgentParseErrorCode;
  readonly detail: string;
}

export type AgentParseResult =
  | { readonly ok: true; readonly event: AgentEvent }
  | { readonly ok: false; readonly error: AgentParseError };

/** What the bridge sends on conversation start. */
export type DynamicVariables = Record<string, string | number | boolean>;

export interface ConversationOverrides {
  readonly firstMessage?: string;
  readonly language?: string;
  readonly prompt?: string;
  readonly voiceId?: string;
}
