/**
 * ElevenLabs Agents WebSocket protocol, normalised into typed events.
 * Reference: docs/protocols/elevenlabs.md; raw shapes come from the official generated types in
 * `@elevenlabs/types` (pinned), so a protocol change shows up as a type error here first.
 * This folder is the only place that knows agent event names.
 */
import type {
  ClientToolResultClientToOrchestratorEvent,
  ContextualUpdateClientToOrchestratorEvent,
  ConversationInitiationClientToOrchestratorEvent,
  PongClientToOrchestratorEvent,
  UserMessageClientToOrchestratorEvent,
} from "@elevenlabs/types";

export type {
  ClientToolResultClientToOrchestratorEvent,
  ContextualUpdateClientToOrchestratorEvent,
  ConversationInitiationClientToOrchestratorEvent,
  PongClientToOrchestratorEvent,
  UserMessageClientToOrchestratorEvent,
};

export interface MetadataEvent {
  readonly type: "metadata";
  readonly conversationId: string;
  /** Raw names as sent (`pcm_16000`...); validated by the call against audio/formats. */
  readonly agentOutputAudioFormat: string;
  readonly userInputAudioFormat: string;
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

/** A type this bridge does not handle (the service adds new ones): debug-logged, ignored. */
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
