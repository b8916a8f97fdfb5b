/**
 * A live view of calls as they happen, for a subscriber inside the process (a web console, a test).
 * Call telemetry is its only caller. Every method is optional and none is on the per-frame audio
 * path: each fires once per call, per transcript line, per agent response, per barge-in or per
 * digit. A subscriber must not throw or block; what it throws is caught and logged.
 */
import type { CallSummary } from "./summary.js";

export interface CallStartedEvent {
  readonly callId: string;
  readonly callSid: string;
  readonly streamSid: string;
  readonly from: string;
  readonly to: string;
  /** Exotel's stream rate, Hz. */
  readonly sampleRate: number;
}

/** The agent's conversation has started: who answers and in which formats audio flows. */
export interface AgentConnectedEvent {
  readonly callId: string;
  readonly agentId: string;
  readonly conversationId: string;
  /** e.g. "pcm_16000"; "ulaw_8000". */
  readonly agentInputFormat: string;
  readonly agentOutputFormat: string;
  readonly setupMs: number;
}

export interface TranscriptEvent {
  readonly callId: string;
  readonly role: "agent" | "user";
  readonly text: string;
  /** Seconds since the call started. */
  readonly at: number;
  /** True when the agent's line is replaced by what the caller heard before interrupting. */
  readonly corrected: boolean;
}

/** The first frame of an agent response has gone to Exotel. */
export interface ResponseStartedEvent {
  readonly callId: string;
  /** The agent's event_id of the response. */
  readonly eventId: number;
  /**
   * Response latency as the caller hears it: from the end of the caller's speech (detected in the
   * caller audio) to this frame; undefined when the caller had not spoken since the last response
   * (a greeting, a reply to DTMF).
   */
  readonly turnLatencyMs: number | undefined;
}

export interface InterruptionObserved {
  readonly callId: string;
  readonly eventId: number;
  /** Agent audio already queued at Exotel that the caller never heard. */
  readonly cutMs: number;
}

export interface DtmfObserved {
  readonly callId: string;
  readonly digit: string;
}

export interface CallEndedEvent {
  readonly callId: string;
  readonly summary: CallSummary;
}

export interface CallObserver {
  callStarted?(event: CallStartedEvent): void;
  agentConnected?(event: AgentConnectedEvent): void;
  transcript?(event: TranscriptEvent): void;
  responseStarted?(event: ResponseStartedEvent): void;
  interruption?(event: InterruptionObserved): void;
  dtmf?(event: DtmfObserved): void;
  callEnded?(event: CallEndedEvent): void;
}
