/**
 * Extension points of a call, for features that live outside the Call object: per-call routing
 * (which agent, which variables), recordings, transfer decisions. The Call calls these; it does not
 * know what is behind them. All optional: a bridge without hooks behaves as configured by env.
 */
import type { ExotelSampleRate } from "../audio/formats.js";
import type { EndedBy, EndReason } from "../call-endings.js";
import type { ConversationOverrides, DynamicVariables } from "../elevenlabs/messages.js";
import type { CallSummary, RecordingFacts } from "./summary.js";

/** What Exotel told us about the call, once `start` has arrived. */
export interface CallIdentity {
  readonly callId: string;
  readonly callSid: string;
  readonly streamSid: string;
  readonly accountSid: string;
  readonly from: string;
  readonly to: string;
  /** Upgrade query merged with start.custom_parameters. */
  readonly customParameters: Readonly<Record<string, string>>;
  readonly sampleRate: ExotelSampleRate;
}

/** The call as hooks and tools see it. */
export interface CallInfo extends CallIdentity {
  /** `agent_id` the call asked for (URL or custom parameter), if any. */
  readonly requestedAgentId: string | undefined;
}

/** How to run this call; every field optional, falling back to the env configuration. */
export interface CallPlan {
  /** Trusted (from configuration or an authenticated API): not subject to the agent allow-list. */
  readonly agentId?: string;
  /** Merged over custom parameters; the call's own facts (caller_number...) still win. */
  readonly dynamicVariables?: DynamicVariables;
  /** Replaces the env-configured overrides for this call. */
  readonly overrides?: ConversationOverrides;
  /** Variables the agent's prompt needs: missing ones end the call before the agent is contacted. */
  readonly requiredVariables?: readonly string[];
  /** Free-form facts for the summary (route name, campaign...). */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Receives the call's audio as the caller and the agent experience it, for recordings.
 * Times are the call's monotonic clock (ms).
 */
export interface AudioTap {
  /** Caller audio, PCM16 at the stream rate, when it arrived. */
  caller(pcm: Buffer, at: number): void;
  /** Agent audio as sent to Exotel, PCM16 at the stream rate, starting to play at `playAt`. */
  agent(pcm: Buffer, playAt: number): void;
  /** Barge-in: agent audio scheduled after `at` was never played. */
  cleared(at: number): void;
  /** Call over: finish and return facts for the summary (e.g. `{recording: "gs://..."}`). */
  finish(): Promise<RecordingFacts | undefined>;
}

export interface CallHooks {
  /** Decide agent, variables and overrides once `start` is known. Throwing ends the call (`call_refused`). */
  plan?(info: CallInfo): Promise<CallPlan> | CallPlan;
  /** An audio tap for this call, or undefined for none. */
  tap?(info: CallInfo): AudioTap | undefined;
  /**
   * The call is ending and its outcome is known, before the goodbye drains, the recording uploads
   * and the summary is logged: the moment to record an outcome that Exotel's next applet (Passthru)
   * may ask for within a second of the stream closing. Must not throw or block.
   */
  closing?(info: CallInfo, outcome: { readonly endReason: EndReason; readonly endedBy: EndedBy }): void;
  /** After the summary is logged (call logs, state for Exotel's follow-up HTTP requests). */
  ended?(summary: CallSummary): void;
}
