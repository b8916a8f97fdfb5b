/**
 * Builders of console events from what a call already has at hand: its CallInfo (once Exotel's
 * `start` is known) and its `call_summary` record (when it ends). A call's telemetry can publish
 * these two without knowing the console's types; the live events in between (transcript, turn,
 * interruption, dtmf, agent_correction) are one-line literals at the points they happen.
 */
import type { CallIdentity } from "../call/hooks.js";
import type { CallSummary } from "../call/summary.js";
import type { CallEndedEvent, CallStartedEvent } from "./events.js";

/** Who called whom on which stream: what Exotel's `start` told the call (a CallInfo will do). */
export type CallParties = Pick<CallIdentity, "callId" | "callSid" | "streamSid" | "from" | "to">;

export function callStartedEvent(
  info: CallParties,
  agentId: string,
  audioPath?: string,
  at = Date.now(),
): CallStartedEvent {
  return {
    type: "call_started",
    callId: info.callId,
    at,
    callSid: info.callSid,
    streamSid: info.streamSid,
    from: info.from,
    to: info.to,
    agentId,
    ...(audioPath !== undefined && { audioPath }),
  };
}

/** The headline of a call's summary (call/summary.ts) as the console's call_ended event. */
export function callEndedEvent(callId: string, summary: CallSummary, at = Date.now()): CallEndedEvent {
  const latency = summary.response_latency_ms;
  const firstAudio = summary.time_to_first_audio_ms;
  return {
    type: "call_ended",
    callId,
    at,
    endReason: summary.end_reason,
    endedBy: summary.ended_by,
    durationS: summary.duration_s,
    ...(firstAudio !== undefined && { timeToFirstAudioMs: firstAudio }),
    ...(latency !== undefined && { responseLatencyMs: latency }),
    interruptions: summary.interruptions,
    transcriptTurns: summary.transcript_turns,
  };
}
