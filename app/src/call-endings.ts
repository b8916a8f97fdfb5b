/**
 * One catalog of the ways a call can end, each with a stable code (used in logs, the call summary
 * and the `calls_ended_total{reason}` metric) and who ended it. Codes are listed in the README.
 */

export type EndedBy = "caller" | "agent" | "bridge";

export const END_REASONS = {
  caller_hangup: { by: "caller", level: "info", text: "caller hung up (Exotel stop: callended)" },
  exotel_stopped: { by: "caller", level: "info", text: "Exotel stopped the stream" },
  exotel_disconnected: { by: "caller", level: "warn", text: "Exotel socket closed without stop" },
  agent_ended: { by: "agent", level: "info", text: "agent ended the conversation (close 1000)" },
  agent_end_call: { by: "agent", level: "info", text: "agent called end_call" },
  agent_transfer: { by: "agent", level: "info", text: "agent asked to transfer to a human" },
  agent_error: { by: "agent", level: "error", text: "agent closed with an error" },
  agent_disconnected: { by: "agent", level: "error", text: "agent socket dropped without a close frame" },
  agent_connect_failed: { by: "bridge", level: "error", text: "could not connect to the agent" },
  agent_not_allowed: { by: "bridge", level: "warn", text: "requested agent_id is not allowed" },
  call_refused: {
    by: "bridge",
    level: "warn",
    text: "the call plan refused this call (routing or missing variables)",
  },
  agent_timeout: { by: "bridge", level: "error", text: "agent did not answer in time" },
  start_timeout: { by: "bridge", level: "warn", text: "no start event from Exotel in time" },
  protocol_error: { by: "bridge", level: "warn", text: "peer broke the protocol" },
  max_duration: { by: "bridge", level: "info", text: "maximum call duration reached" },
  caller_silence: { by: "bridge", level: "warn", text: "no caller audio frames for too long" },
  slow_peer: { by: "bridge", level: "error", text: "a peer stopped reading; its buffer hit the limit" },
  server_shutdown: { by: "bridge", level: "warn", text: "bridge shut down before the call ended" },
  internal_error: { by: "bridge", level: "error", text: "unexpected bridge error" },
} as const satisfies Record<string, { by: EndedBy; level: "info" | "warn" | "error"; text: string }>;

export type EndReason = keyof typeof END_REASONS;

/** Why an agent connection could not be set up; `kind` is the metric label. */
export type AgentConnectErrorKind =
  | "auth"
  | "agent_not_found"
  | "rate_limited"
  | "upstream"
  | "bad_response"
  /** The signed-URL reply held something that is not a usable ws(s) URL: a contract error, not retried. */
  | "bad_signed_url"
  | "timeout"
  | "network"
  | "handshake";

export class AgentConnectError extends Error {
  override readonly name = "AgentConnectError";
  constructor(
    readonly kind: AgentConnectErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Exotel does not distinguish close codes: every close moves the flow on. Reason text stays generic. */
export const EXOTEL_CLOSE_NORMAL = 1000;
