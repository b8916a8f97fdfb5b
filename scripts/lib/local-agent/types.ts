/**
 * The local test agent's vocabulary: audio formats, modes, failure modes, options, and the
 * records it keeps of each conversation. Types (and the format list) only.
 */
import type { VadOptions } from "../audio.js";

export const AGENT_AUDIO_FORMATS = [
  "pcm_8000",
  "pcm_16000",
  "pcm_22050",
  "pcm_24000",
  "pcm_44100",
  "pcm_48000",
  "ulaw_8000",
] as const;
export type AgentAudioFormat = (typeof AGENT_AUDIO_FORMATS)[number];

export type AgentMode = "manual" | "script" | "echo";

/** Failures the local test agent can produce on purpose. */
export type AgentFailure =
  /** The signed-URL endpoint answers 401 whatever the key (and signatures are never valid). */
  | { readonly kind: "bad_key" }
  /** Every agent id is unknown: signed URL and upgrade answer 404. */
  | { readonly kind: "unknown_agent" }
  /**
   * The signed-URL endpoint answers 200 with a `signed_url` that no client can open (a space in the
   * host) but that still carries a fresh `conversation_signature`: what a broken upstream or proxy
   * could hand over, to check that the token never reaches a log line.
   */
  | { readonly kind: "malformed_signed_url" }
  /** Typed `error` event (error_event shape) instead of metadata, then close 1008. */
  | { readonly kind: "error_1008"; readonly errorType?: string; readonly message?: string }
  /** Flat `{"type":"error","message":...}` then close 1002, `afterMs` after metadata (instead of it when omitted). */
  | { readonly kind: "flat_error_1002"; readonly message?: string; readonly afterMs?: number }
  /** Accepts the socket but never sends metadata. */
  | { readonly kind: "silence" }
  /** Closes 1011 `afterMs` after metadata. */
  | { readonly kind: "close_1011"; readonly afterMs: number }
  /** Drops the TCP connection without a close frame (the client sees 1006) `afterMs` after metadata. */
  | { readonly kind: "drop"; readonly afterMs: number }
  /** Delays the first audio of the conversation by `delayMs` (after its agent_response). */
  | { readonly kind: "slow_first_audio"; readonly delayMs: number };

/** Something the agent can say: text for transcripts, PCM16 mono audio at `sampleRate`. */
export interface Utterance {
  readonly text: string;
  readonly pcm: Buffer;
  readonly sampleRate: number;
}

export interface ScriptPrompts {
  readonly greeting: Utterance;
  /** Cycled through for ordinary caller turns. */
  readonly replies: readonly Utterance[];
  /** Answer to a turn that interrupted the agent. */
  readonly afterInterruption: Utterance;
  /** Answer to a `user_message` (the bridge sends DTMF digits that way). */
  readonly afterUserMessage: Utterance;
  readonly goodbye: Utterance;
}

export interface LocalAgentOptions {
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** When set, the signed-URL endpoint requires it and the WebSocket requires a signature. */
  readonly apiKey?: string;
  /** Known agent ids; default ["local-test-agent"]. */
  readonly agents?: readonly string[];
  /** Announced in metadata and used for the audio sent; default pcm_16000 (ElevenLabs' default). */
  readonly outputFormat?: AgentAudioFormat;
  /** Announced in metadata and used to decode user_audio_chunk; default pcm_16000. */
  readonly inputFormat?: AgentAudioFormat;
  /** Default "manual" (tests drive it); the CLI and demo use "script". */
  readonly mode?: AgentMode;
  /** Ping period; 0 disables pings. Default 2000 ms. */
  readonly pingIntervalMs?: number;
  readonly failure?: AgentFailure;
  /** Wait at most this long for conversation_initiation_client_data before sending metadata. Default 1000 ms. */
  readonly initiationWaitMs?: number;
  /** Dynamic variables the "agent prompt" references: missing ones fail with missing_dynamic_variable (1008). */
  readonly requiredDynamicVariables?: readonly string[];
  /** Audio chunk size sent to the client. Default 250 ms. */
  readonly audioChunkMs?: number;
  /** How much faster than real time audio is sent; Infinity sends a response at once. Default 4. */
  readonly audioSpeedup?: number;
  /** "Thinking" time between the end of a caller turn and the reply. Default 300 ms. */
  readonly responseDelayMs?: number;
  /** Script/echo: speak the greeting first. Default true (an empty first_message override also disables it). */
  readonly greeting?: boolean;
  /** Script/echo: after this many replies played to the end, say goodbye, send end_call, close 1000. */
  readonly endCallAfterReplies?: number;
  /**
   * Script/echo: client tools to call (`client_tool_call`), each once its number of replies has
   * been heard in full; e.g. `{ afterReplies: 1, name: "transfer_to_human", parameters: { team: "sales" } }`.
   */
  readonly toolCalls?: readonly ScriptedToolCall[];
  /**
   * Announce the audio formats in conversation_initiation_metadata (default true). false leaves
   * them out, as a client must then assume ElevenLabs' default (pcm_16000 both ways).
   */
  readonly announceFormats?: boolean;
  /** Prompts for script mode; default: the shipped fixtures/agent-prompt-*-16k.wav. */
  readonly prompts?: ScriptPrompts;
  readonly vad?: VadOptions;
  /** Signed URL lifetime. Default 15 min (as documented for the real service). */
  readonly signatureTtlMs?: number;
  /**
   * Close 1002 after this long without any user_audio_chunk (the real service: 60 s), which
   * catches a bridge that stops streaming silence. Default: off.
   */
  readonly userInputTimeoutMs?: number;
  /** Log sink for human-readable lines (each starts with "[local test agent]"). Default: silent. */
  readonly log?: (line: string) => void;
}

/** A client tool the scripted agent calls at a point of the conversation. */
export interface ScriptedToolCall {
  /** Called once this many replies have been heard in full (0: right after the greeting). */
  readonly afterReplies: number;
  readonly name: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** "client" (default): `client_tool_call`; "mcp_approval": an MCP tool call awaiting the client's approval. */
  readonly kind?: "client" | "mcp_approval";
}

/** The client's answer to a `client_tool_call`. */
export interface ToolResult {
  readonly toolCallId: string;
  /** `result` as sent (ElevenLabs documents a string; anything JSON is kept as is). */
  readonly result: unknown;
  readonly isError: boolean;
}

/** A client message as recorded (audio is summarised, not kept here: see userAudio()). */
export interface ReceivedMessage {
  /** ms since the conversation socket opened. */
  readonly atMs: number;
  /** `type`, or "user_audio_chunk", or "malformed". */
  readonly type: string;
  readonly message: unknown;
}

export interface SentMessage {
  readonly atMs: number;
  readonly type: string;
  /** The object sent (audio payloads replaced by their byte count), or the raw text/bytes. */
  readonly message: unknown;
}

export interface ResponseRecord {
  readonly eventId: number;
  readonly text: string;
  /** Total audio ms of the response. */
  readonly audioMs: number;
  /** ms since open when its first audio chunk was sent (-1 before). */
  startedAtMs: number;
  /** Audio ms actually sent before it finished or was interrupted. */
  sentMs: number;
  interrupted: boolean;
  /** For interrupted responses: the text as heard (agent_response_correction). */
  corrected?: string;
  done: boolean;
}

export type ConversationEvent =
  | { readonly kind: "received"; readonly message: ReceivedMessage }
  | { readonly kind: "sent"; readonly message: SentMessage }
  | {
      readonly kind: "closed";
      readonly code: number;
      readonly reason: string;
      readonly by: "agent" | "client";
    };

export interface ConversationClose {
  readonly code: number;
  readonly reason: string;
  /** Who sent the close first. */
  readonly by: "agent" | "client";
}

/** An audio format as the agent uses it. */
export interface FormatInfo {
  readonly name: AgentAudioFormat;
  readonly ulaw: boolean;
  readonly sampleRate: number;
}
