/**
 * What a simulated call is configured with, what it reports live, and the report it ends with.
 * Types only: the report is JSON-serialisable as it stands (saveCall writes it as is).
 */
import type { VadOptions } from "../audio.js";
import type { ExotelSampleRate, ExotelSocketOptions } from "./socket.js";
import type { CallerAudio, DtmfEntry } from "./timeline.js";

export interface CallOptions extends ExotelSocketOptions {
  readonly audio?: readonly CallerAudio[];
  /** Caller media frame length; default 100 ms (Exotel's usual). */
  readonly frameMs?: number;
  readonly dtmf?: readonly DtmfEntry[];
  /** Caller hangs up (stop + close) this long after `start`. */
  readonly hangupAfterMs?: number;
  /** Safety limit when no hang-up time is set: hang up after this. Default 120 s. */
  readonly maxDurationMs?: number;
  /**
   * When no hang-up time is set: once all caller audio and DTMF have been sent, hang up after the
   * agent has been silent this long (a caller who got their answer). Default: off (the call waits
   * for the bridge to close, at most maxDurationMs).
   */
  readonly idleHangupMs?: number;
  /** Keep streaming silence after the audio (Exotel does). Default true. */
  readonly silenceAfterAudio?: boolean;
  /** Delay between `connected` and `start`. Default 0. */
  readonly startDelayMs?: number;
  /** Also put customParameters on the URL query, as Exotel's applet does. Default true. */
  readonly customParametersInUrl?: boolean;
  /** What happens to marks pending when a `clear` arrives: echoed once the playing frame ends (default) or dropped. */
  readonly marksOnClear?: "echo" | "drop";
  /** VAD used to find the caller's turns in the audio it sends (for latency). */
  readonly vad?: VadOptions;
  /** Live events, for terminal views. */
  readonly onEvent?: (e: CallEvent) => void;
}

export type CallEvent =
  | { readonly type: "connecting"; readonly url: string }
  | { readonly type: "connected"; readonly handshakeMs: number }
  | { readonly type: "refused"; readonly status: number | undefined; readonly message: string }
  | { readonly type: "start_sent"; readonly atMs: number }
  | { readonly type: "caller_speech_start"; readonly atMs: number }
  | { readonly type: "caller_speech_end"; readonly atMs: number }
  | { readonly type: "agent_audio_start"; readonly atMs: number; readonly latencyMs?: number }
  | { readonly type: "agent_audio_stop"; readonly atMs: number; readonly playedMs: number }
  | {
      readonly type: "clear";
      readonly atMs: number;
      readonly droppedMs: number;
      readonly wasPlaying: boolean;
    }
  | { readonly type: "mark"; readonly atMs: number; readonly name: string }
  | { readonly type: "mark_echoed"; readonly atMs: number; readonly name: string }
  | { readonly type: "dtmf"; readonly atMs: number; readonly digit: string }
  | { readonly type: "violation"; readonly atMs: number; readonly problem: string }
  | { readonly type: "hangup"; readonly atMs: number; readonly reason: string }
  | {
      readonly type: "closed";
      readonly atMs: number;
      readonly code: number;
      readonly reason: string;
      readonly by: string;
    };

export interface FrameViolation {
  readonly atMs: number;
  /** 1-based index among received media frames (0 for non-media frames). */
  readonly frame: number;
  readonly bytes: number;
  readonly problem: string;
}

export interface CallTurn {
  /** Caller speech segment on the call clock (energy VAD on the audio sent). */
  readonly callerStartMs: number;
  readonly callerEndMs: number;
  /** First agent audio that started playing after the caller stopped (and before the next turn). */
  readonly agentStartMs: number | null;
  /**
   * Response latency as the caller hears it: from `callerEndMs` to the arrival of that audio's
   * first frame (the bridge's `response_latency_ms`, measured from this side).
   */
  readonly latencyMs: number | null;
}

export interface CallReport {
  readonly ok: boolean;
  /** Why the call counts as failed (empty when ok). */
  readonly failures: readonly string[];
  readonly url: string;
  readonly sampleRate: ExotelSampleRate;
  readonly streamSid: string;
  readonly callSid: string;
  readonly startedAt: string;
  /**
   * WebSocket handshake time (TCP + TLS + upgrade). Not the bridge's `setup_ms`, which runs from
   * the socket opening to the agent's conversation starting.
   */
  readonly handshakeMs: number | null;
  /** From `start` to the first agent audio received: the bridge's `time_to_first_audio_ms`, seen from here. */
  readonly firstAgentAudioMs: number | null;
  readonly durationMs: number;
  readonly turns: readonly CallTurn[];
  readonly latency: {
    readonly count: number;
    readonly avgMs: number | null;
    readonly minMs: number | null;
    readonly medianMs: number | null;
    readonly maxMs: number | null;
  };
  readonly audio: {
    readonly callerSentS: number;
    readonly callerSpeechS: number;
    readonly agentReceivedS: number;
    readonly agentPlayedS: number;
    readonly agentClearedS: number;
  };
  readonly frames: {
    readonly mediaReceived: number;
    readonly sizes: Readonly<Record<string, number>>;
    readonly violations: number;
    readonly violationSamples: readonly FrameViolation[];
    readonly otherEvents: Readonly<Record<string, number>>;
  };
  /** Most audio queued ahead of the playhead at any time (pacing check; Exotel wants a few hundred ms). */
  readonly maxQueuedAheadMs: number;
  readonly marks: { readonly received: number; readonly echoed: number };
  readonly clears: number;
  readonly interruptions: ReadonlyArray<{
    readonly atMs: number;
    readonly droppedMs: number;
    readonly reactionMs: number | null;
  }>;
  readonly dtmfSent: string;
  readonly end: {
    readonly by: "caller" | "bridge" | "refused" | "error";
    readonly code: number | null;
    readonly reason: string;
    readonly atMs: number;
    readonly status?: number;
    /** Hang-up cause when the caller ended: "hangup_after", "idle", "max_duration", "ctrl_c", ... */
    readonly cause?: string;
  };
  readonly timeline: ReadonlyArray<{
    readonly atMs: number;
    readonly event: string;
    readonly detail?: string;
  }>;
}

export interface CallAudio {
  readonly sampleRate: ExotelSampleRate;
  /** What the caller sent, PCM16 at the stream rate, on the call clock. */
  readonly caller: Buffer;
  /** Agent audio as heard (cleared audio removed), PCM16 at the stream rate, on the call clock. */
  readonly agent: Buffer;
}

export interface CallResult {
  readonly report: CallReport;
  readonly audio: CallAudio;
}
