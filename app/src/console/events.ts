/**
 * What the live call console shows, as typed events. A call publishes these as they happen
 * (ConsoleFeed.publish); the feed keeps a bounded picture of them and streams them, unchanged, to
 * the page as server-sent events. Times (`at`) are wall-clock epoch milliseconds, because the page
 * shows them as clock times; ids and numbers are the ones the call's logs use.
 */
import type { EndedBy, EndReason } from "../call-endings.js";

export type TranscriptRole = "caller" | "agent";

/** Fields every event carries. */
interface CallEventBase {
  /** The bridge's own call id (the `call_id` of the call's log lines). */
  readonly callId: string;
  /** Epoch ms. */
  readonly at: number;
}

/** Exotel's `start` arrived and the call has an agent to talk to. */
export interface CallStartedEvent extends CallEventBase {
  readonly type: "call_started";
  readonly callSid: string;
  readonly streamSid: string;
  readonly from: string;
  readonly to: string;
  readonly agentId: string;
  /** How audio is carried, in words, e.g. "8000 Hz PCM ↔ pcm_16000" (optional, display only). */
  readonly audioPath?: string;
}

/** A final transcript line: what the caller said (agent ASR) or what the agent said. */
export interface TranscriptEvent extends CallEventBase {
  readonly type: "transcript";
  readonly role: TranscriptRole;
  readonly text: string;
}

/** After a barge-in: the agent's last line as far as the caller actually heard it. */
export interface AgentCorrectionEvent extends CallEventBase {
  readonly type: "agent_correction";
  readonly text: string;
}

/**
 * One answered turn: response latency as the caller hears it, from the end of the caller's speech
 * (detected in the caller audio) to the agent's first audio frame sent to Exotel. The same number
 * as the summary's `response_latency_ms` and the `exotel_bridge_response_latency_seconds` metric.
 */
export interface TurnEvent extends CallEventBase {
  readonly type: "turn";
  readonly latencyMs: number;
}

/** The caller talked over the agent; queued agent audio was cut. */
export interface InterruptionEvent extends CallEventBase {
  readonly type: "interruption";
}

/** Keypad digits from the caller (one or more). */
export interface DtmfEvent extends CallEventBase {
  readonly type: "dtmf";
  readonly digits: string;
}

/** The call is over: the headline of its `call_summary` record. */
export interface CallEndedEvent extends CallEventBase {
  readonly type: "call_ended";
  readonly endReason: EndReason;
  readonly endedBy: EndedBy;
  readonly durationS: number;
  readonly timeToFirstAudioMs?: number;
  readonly responseLatencyMs?: { readonly count: number; readonly avg: number; readonly max: number };
  readonly interruptions: number;
  readonly transcriptTurns: number;
}

export type ConsoleEvent =
  | CallStartedEvent
  | TranscriptEvent
  | AgentCorrectionEvent
  | TurnEvent
  | InterruptionEvent
  | DtmfEvent
  | CallEndedEvent;

export type ConsoleEventType = ConsoleEvent["type"];

/** One entry of a live call's timeline, in the order it happened. */
export type TimelineEntry =
  | {
      readonly kind: "line";
      readonly role: TranscriptRole;
      readonly text: string;
      readonly at: number;
      readonly cut?: boolean;
    }
  | { readonly kind: "interruption"; readonly at: number }
  | { readonly kind: "dtmf"; readonly digits: string; readonly at: number };

/** A call in progress, as a newly connected page first sees it. */
export interface ActiveCallView {
  readonly callId: string;
  readonly callSid: string;
  readonly from: string;
  readonly to: string;
  readonly agentId: string;
  readonly audioPath?: string;
  readonly startedAt: number;
  readonly timeline: readonly TimelineEntry[];
  readonly latenciesMs: readonly number[];
  readonly interruptions: number;
  readonly dtmf: string;
}

/** A finished call in the "last calls" table. */
export interface EndedCallView {
  readonly callId: string;
  readonly callSid: string;
  readonly from: string;
  readonly to: string;
  readonly agentId: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly endReason: EndReason;
  /** The end reason in words (the catalog in errors.ts). */
  readonly endText: string;
  readonly endedBy: EndedBy;
  readonly durationS: number;
  readonly timeToFirstAudioMs?: number;
  readonly responseLatencyMs?: { readonly count: number; readonly avg: number; readonly max: number };
  readonly interruptions: number;
  readonly transcriptTurns: number;
  readonly dtmf: string;
}

/** The bounds the page applies to its own copy of the picture (the feed's, see feed.ts). */
export interface ViewLimits {
  readonly maxActiveCalls: number;
  readonly maxTimeline: number;
  readonly maxLatencies: number;
  readonly maxEnded: number;
}

/** The first message on every event stream: the feed's bounded picture at connect time. */
export interface ConsoleSnapshot {
  readonly type: "snapshot";
  readonly active: readonly ActiveCallView[];
  readonly ended: readonly EndedCallView[];
  readonly limits: ViewLimits;
}

/** How a call's end is streamed: the whole "last calls" row, so a page needs nothing else. */
export interface CallEndedMessage {
  readonly type: "call_ended";
  readonly callId: string;
  readonly at: number;
  readonly ended: EndedCallView;
}

/** Every `data:` message on the event stream (events clipped to the feed's bounds). */
export type ConsoleMessage = ConsoleSnapshot | Exclude<ConsoleEvent, CallEndedEvent> | CallEndedMessage;
