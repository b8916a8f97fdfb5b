/**
 * The Connect applet's dynamic-URL ("Programmable Connect") reply, version 1.0 of Exotel's schema
 * (docs/call-control.md, "What Exotel sends and what we answer", lists the sources):
 *
 *   {"fetch_after_attempt": false, "destination": {"numbers": [...]}, "record": true,
 *    "recording_channels": "dual", "max_ringing_duration": 45, "max_conversation_duration": 3600,
 *    "parallel_ringing": {"activate": true, "max_parallel_attempts": 3},
 *    "start_call_playback": {"playback_to": "both", "type": "text", "value": "..."}}
 *
 * Always HTTP 200 with JSON, also when there is nobody to ring: an empty `numbers` list makes the
 * applet dial no one and leave through its own "not connected" branch, which the flow's author
 * configured (voicemail, a static Connect, Hangup). A non-200 would instead send Exotel to the
 * applet's Fallback URL and then treat the applet as failed, which is not a branch the flow owns.
 */
import type { ControlConfig } from "../../config/control.js";

/** Exotel rings at most this many numbers in parallel (the applet's own limit in the dashboard). */
export const MAX_PARALLEL_ATTEMPTS = 5;

export interface ConnectReply {
  /** false: one reply for the whole applet; Exotel does not come back between attempts. */
  readonly fetch_after_attempt: false;
  readonly destination: { readonly numbers: readonly string[] };
  readonly record: boolean;
  readonly recording_channels: "single" | "dual";
  readonly max_ringing_duration: number;
  readonly max_conversation_duration?: number;
  readonly parallel_ringing?: { readonly activate: boolean; readonly max_parallel_attempts: number };
  readonly start_call_playback?: {
    readonly playback_to: "both";
    readonly type: "text";
    readonly value: string;
  };
}

export function connectReply(numbers: readonly string[], config: ControlConfig["transfer"]): ConnectReply {
  const parallel = config.parallelRinging && numbers.length > 1;
  return {
    fetch_after_attempt: false,
    destination: { numbers },
    record: config.record,
    recording_channels: config.recordingChannels,
    max_ringing_duration: config.maxRingingS,
    ...(config.maxConversationS > 0 && { max_conversation_duration: config.maxConversationS }),
    ...(parallel && {
      parallel_ringing: {
        activate: true,
        max_parallel_attempts: Math.min(numbers.length, MAX_PARALLEL_ATTEMPTS),
      },
    }),
    ...(config.announcement !== undefined &&
      numbers.length > 0 && {
        start_call_playback: { playback_to: "both", type: "text", value: config.announcement },
      }),
  };
}
