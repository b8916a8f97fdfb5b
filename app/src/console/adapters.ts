/**
 * Builders of console events from what a call already has at hand: its CallInfo (once Exotel's
 * `start` is known) and its `call_summary` record (when it ends). A call's telemetry can publish
 * these two without knowing the console's types; the live events in between (transcript, turn,
 * interruption, dtmf, agent_correction) are one-line literals at the points they happen.
 */
import type { CallInfo } from "../call/hooks.js";
import { END_REASONS, type EndedBy, type EndReason } from "../errors.js";
import type { CallEndedEvent, CallStartedEvent } from "./events.js";

export function callStartedEvent(
  info: CallInfo,
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

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function isEndReason(v: unknown): v is EndReason {
  return typeof v === "string" && Object.hasOwn(END_REASONS, v);
}

function isEndedBy(v: unknown): v is EndedBy {
  return v === "caller" || v === "agent" || v === "bridge";
}

/** The headline of a `call_summary` record (call/summary.ts) as the console's call_ended event. */
export function callEndedEvent(
  callId: string,
  summary: Readonly<Record<string, unknown>>,
  at = Date.now(),
): CallEndedEvent {
  const endReason = isEndReason(summary.end_reason) ? summary.end_reason : "internal_error";
  const latency = summary.response_latency_ms as Record<string, unknown> | undefined;
  const count = num(latency?.count);
  const avg = num(latency?.avg);
  const max = num(latency?.max);
  const firstAudio = num(summary.time_to_first_audio_ms);
  return {
    type: "call_ended",
    callId,
    at,
    endReason,
    endedBy: isEndedBy(summary.ended_by) ? summary.ended_by : END_REASONS[endReason].by,
    durationS: num(summary.duration_s) ?? 0,
    ...(firstAudio !== undefined && { timeToFirstAudioMs: firstAudio }),
    ...(count !== undefined &&
      avg !== undefined &&
      max !== undefined && { responseLatencyMs: { count, avg, max } }),
    interruptions: num(summary.interruptions) ?? 0,
    transcriptTurns: num(summary.transcript_turns) ?? 0,
  };
}
