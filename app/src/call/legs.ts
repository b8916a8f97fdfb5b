/**
 * The contract between a Call and its two legs. A leg reports what happened on its socket as typed
 * events; it never ends the call itself: the Call alone maps events to an end reason and runs the
 * teardown. Audio does not pass through here: the Exotel leg hands caller media straight to the
 * agent leg's uplink, and the agent leg's playout writes straight to the Exotel leg (a PlayoutSink).
 */
import type { PlayoutSink } from "./agent-playout.js";
import type { CallIdentity } from "./hooks.js";
import type { AgentCloseRecord, AgentErrorRecord } from "./summary.js";

/** What the Exotel leg reports to its Call. */
export interface ExotelLegEvents {
  /** Exotel's `start`: the caller is on the line; the identity and stream rate are final. */
  started(identity: CallIdentity): void;
  /** A keypad digit (telemetry has seen it already). */
  dtmf(digit: string): void;
  /** Exotel echoed a mark: the caller heard the audio up to it. */
  markPlayed(name: string): void;
  /** Exotel's `stop`; `reason` as Exotel sent it. */
  stopped(reason: string | undefined): void;
  /** The socket is gone (code and reason as received). */
  closed(code: number, reason: string): void;
  /** Exotel is not reading: `bufferedBytes` are unsent. */
  slow(bufferedBytes: number): void;
  /** Too many bad frames. */
  protocolError(detail: string): void;
  failed(err: unknown): void;
}

/** What a Call needs of its Exotel leg. */
export interface ExotelSide extends PlayoutSink {
  /** Monotonic time of the last caller media frame (socket open time before any). */
  readonly lastMediaAt: number;
  /** Empty strings until `start`. */
  readonly identity: CallIdentity;
  /** The socket has closed. */
  readonly closed: boolean;
  /** Close frame now; the socket is destroyed if Exotel does not answer it. */
  close(): void;
  /** After the call is over: no more events, and a late socket error cannot crash the process. */
  dispose(): void;
}

/** What the agent leg reports to its Call. */
export interface AgentLegEvents {
  /** Conversation metadata arrived with usable formats: audio flows both ways from now. */
  ready(): void;
  /** The plan refused the call or asked for an agent that is not allowed. */
  refused(reason: "call_refused" | "agent_not_allowed", detail: string): void;
  /** Setup failed for good (retries used up or not allowed). */
  connectFailed(message: string): void;
  /** The agent announced audio formats the bridge cannot convert. */
  unusableFormats(detail: string): void;
  /** The agent socket closed; `endCallRequested` when the agent used its end_call tool before. */
  closed(code: number, reason: string, endCallRequested: boolean): void;
  /** The agent socket or the audio waiting for Exotel grew past its bound. */
  slow(detail: string): void;
  /** Too many bad frames. */
  protocolError(detail: string): void;
  /** While the goodbye drains: everything buffered has gone to Exotel (some may still be playing). */
  drained(now: number): void;
  failed(err: unknown): void;
}

/** What the agent leg's side of the summary holds. */
export interface AgentFacts {
  readonly agentId: string;
  readonly conversationId: string;
  readonly formats: { readonly input: string; readonly output: string } | undefined;
  readonly agentClose: AgentCloseRecord | undefined;
  readonly agentError: AgentErrorRecord | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly heardMs: number;
  readonly clearedMs: number;
  readonly lateChunksDropped: number;
  readonly marksSent: number;
  readonly marksEchoed: number;
}

/** What a Call needs of its agent leg. */
export interface AgentSide {
  readonly agentId: string;
  readonly conversationId: string;
  /** No agent socket is open or opening. */
  readonly linkClosed: boolean;
  /** The goodbye is draining to Exotel. */
  readonly draining: boolean;
  /** Routing, then the agent socket, for the caller in `identity`. */
  begin(identity: CallIdentity): void;
  /** A DTMF digit for the agent (batched per DTMF_MODE). */
  dtmf(digit: string): void;
  /** An echoed mark; true when the goodbye has now been heard in full. */
  markPlayed(name: string): boolean;
  /** No metadata in time: recorded as the agent's error. */
  timedOut(message: string): void;
  /** Audio waiting for Exotel, buffered here or queued there. */
  hasAudioToPlay(now: number): boolean;
  /** Nothing waiting or queued, and the agent quiet for `quietMs`. */
  isIdle(now: number, quietMs: number): boolean;
  queuedMs(now: number): number;
  /** The call is ending: with `drain`, queued audio keeps flowing to Exotel until `stopDraining`. */
  end(drain: boolean, now: number): void;
  stopDraining(): void;
  /** Close the agent socket (gently, then forced). */
  close(): void;
  /** After the call is over; returns the agent side of the summary. */
  dispose(now: number): AgentFacts;
}
