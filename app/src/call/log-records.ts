/**
 * The shape of every line a call logs (besides `call_summary`, typed in summary.ts), keyed by its
 * `event`. The per-call logger adds the ids (call_id, call_sid, stream_sid, conversation_id) as
 * bindings, so no record repeats them. Log queries and alerts read these keys: change them here.
 */
import type { EndedBy, EndReason } from "../call-endings.js";

interface ErrorInfo {
  readonly message: string;
}

export type CallLogRecord =
  // Exotel leg
  | { readonly event: "call_connecting"; readonly remote: string; readonly sample_rate: number | undefined }
  | {
      readonly event: "call_start";
      readonly from: string;
      readonly to: string;
      readonly account_sid: string;
      readonly custom_parameters: Readonly<Record<string, string>>;
      readonly sample_rate: number;
      readonly media_format: unknown;
    }
  | { readonly event: "sample_rate_mismatch"; readonly url: number; readonly reported: number }
  | { readonly event: "sample_rate_invalid"; readonly reported: number }
  | { readonly event: "url_rate_ignored"; readonly url: number }
  | { readonly event: "stream_encoding_assumed" }
  | { readonly event: "unsupported_stream_encoding"; readonly detail: string }
  | { readonly event: "exotel_connected" }
  | { readonly event: "exotel_unknown_event"; readonly name: string }
  | { readonly event: "exotel_stop"; readonly reason: string | undefined }
  | { readonly event: "exotel_socket_error"; readonly err: ErrorInfo }
  | {
      readonly event: "dtmf";
      /** Only with LOG_TRANSCRIPTS=lines (log-privacy.ts). */
      readonly digit?: string;
      readonly duration_ms: number | undefined;
    }
  | { readonly event: "dtmf_rate_limited"; readonly per_second: number; readonly burst: number }
  | {
      readonly event: "bad_frame";
      readonly source: "exotel" | "agent";
      readonly code: string;
      readonly detail: string;
      readonly count: number;
    }
  // Agent leg
  | { readonly event: "agent_open"; readonly agent_id: string }
  | { readonly event: "agent_socket_error"; readonly err: ErrorInfo }
  | {
      readonly event: "agent_connect_retry";
      readonly kind: string;
      readonly status: number | undefined;
      readonly attempt: number;
    }
  | {
      readonly event: "agent_connected";
      readonly agent_id: string;
      readonly setup_ms: number;
      readonly caller_to_agent: string;
      readonly agent_to_caller: string;
    }
  | { readonly event: "agent_metadata_repeat" }
  | {
      readonly event: "agent_formats_assumed";
      readonly input: string;
      readonly output: string;
    }
  | {
      readonly event: "mcp_tool_approval";
      readonly tool: string;
      readonly service_id: string;
      readonly approved: boolean;
      readonly reason: string;
    }
  | { readonly event: "mcp_tool_call"; readonly tool: string; readonly state: string }
  | { readonly event: "transcript"; readonly role: "agent" | "user"; readonly text: string }
  | { readonly event: "transcript_correction"; readonly role: "agent"; readonly text: string }
  | {
      readonly event: "interruption";
      readonly agent_event_id: number;
      readonly cut_queued_ms: number;
      readonly dropped_buffered_ms: number;
    }
  | { readonly event: "client_tool_call"; readonly tool: string }
  | { readonly event: "client_tool_error"; readonly tool: string; readonly result: string }
  | {
      readonly event: "agent_tool";
      readonly tool: string;
      readonly tool_type: string | undefined;
      readonly is_error: boolean | undefined;
    }
  | {
      readonly event: "agent_error_event";
      readonly error_type: string | undefined;
      readonly code: number | undefined;
      readonly reason: string | undefined;
    }
  | {
      readonly event:
        | "agent_tentative_user_transcript"
        | "agent_internal_tentative_agent_response"
        | "agent_vad_score";
    }
  | { readonly event: "agent_unknown_event"; readonly name: string }
  | { readonly event: "mark_unknown" | "mark_played"; readonly name: string }
  | {
      readonly event: "dtmf_to_agent";
      readonly kind: "user_message" | "contextual_update";
      /** Only with LOG_TRANSCRIPTS=lines (log-privacy.ts); `count` otherwise. */
      readonly digits?: string;
      readonly count?: number;
    }
  | { readonly event: "tap_failed"; readonly err: unknown }
  // Call
  | {
      readonly event: "end_when_agent_done";
      readonly end_reason: EndReason;
      readonly detail: string | undefined;
    }
  | {
      readonly event: "call_ending";
      readonly end_reason: EndReason;
      readonly ended_by: EndedBy;
      readonly detail: string | undefined;
      readonly state: string;
    }
  | {
      readonly event:
        | "call_internal_error"
        | "closing_hook_failed"
        | "tap_finish_failed"
        | "ended_hook_failed"
        | "observer_failed";
      readonly err: unknown;
    };

export type CallLogLevel = "debug" | "info" | "warn" | "error";
