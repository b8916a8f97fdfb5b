/**
 * Exotel Voicebot (bidirectional stream) wire messages, as typed events.
 * Reference: docs/protocols.md, "Exotel". Exotel senders disagree on spelling (snake_case vs
 * camelCase), on number types and on shapes (nested or flat `dtmf`); the parser normalises all of
 * that, so nothing outside `exotel/` sees it.
 */
import type { StreamEncoding } from "../audio/formats.js";

export interface ExotelMediaFormat {
  /** As sent (`raw`, `audio/x-raw`, `audio/x-mulaw;rate=8000`...), at most 64 characters. */
  readonly encoding?: string;
  /** From `sample_rate`, or else from a `;rate=` parameter of `encoding`. */
  readonly sampleRate?: number;
  readonly bitRate?: string;
  /** What the payload bytes are: PCM16 LE, unless the stream announced mu-law. */
  readonly streamEncoding: StreamEncoding;
  /** True when `encoding` was absent and PCM16 was assumed (the Voicebot applet's documented format). */
  readonly encodingAssumed: boolean;
}

export interface ExotelStart {
  readonly streamSid: string;
  readonly callSid: string;
  readonly accountSid: string;
  readonly from: string;
  readonly to: string;
  /** Validated names only; never contains prototype keys. */
  readonly customParameters: Readonly<Record<string, string>>;
  readonly mediaFormat: ExotelMediaFormat;
}

export interface ConnectedEvent {
  readonly event: "connected";
  /** Custom parameters some stream configurations deliver here instead of in `start`. */
  readonly customParameters: Readonly<Record<string, string>>;
}

export interface StartEvent {
  readonly event: "start";
  readonly sequence?: number;
  readonly streamSid: string;
  readonly start: ExotelStart;
}

export interface MediaEvent {
  readonly event: "media";
  readonly sequence?: number;
  readonly streamSid?: string;
  readonly chunk?: number;
  readonly timestamp?: number;
  /** Base64 audio in the stream's format; kept encoded so passthrough never decodes it. */
  readonly payload: string;
}

/**
 * A frame the bridge must not act on, with why: `outbound_track` is the bot's own audio, echoed
 * back when the stream is configured with both tracks.
 */
export interface IgnoredEvent {
  readonly event: "ignored";
  readonly name: string;
  readonly reason: "outbound_track";
}

/** Exotel's silence-detection notice (`SilenceAction=notify`); accepted, nothing to do yet. */
export interface SilenceEvent {
  readonly event: "silence";
  readonly sequence?: number;
  readonly streamSid?: string;
}

export interface DtmfEvent {
  readonly event: "dtmf";
  readonly sequence?: number;
  readonly streamSid?: string;
  readonly digit: string;
  readonly durationMs?: number;
}

export interface MarkEvent {
  readonly event: "mark";
  readonly sequence?: number;
  readonly streamSid?: string;
  readonly name: string;
}

export interface StopEvent {
  readonly event: "stop";
  readonly sequence?: number;
  readonly streamSid?: string;
  readonly callSid?: string;
  readonly accountSid?: string;
  /** `callended` (caller hung up) or `stopped`; anything else is passed through. */
  readonly reason?: string;
}

/** An event type Exotel may add later: logged at debug and ignored. */
export interface UnknownEvent {
  readonly event: "unknown";
  readonly name: string;
}

export type ExotelEvent =
  | ConnectedEvent
  | StartEvent
  | MediaEvent
  | DtmfEvent
  | MarkEvent
  | StopEvent
  | SilenceEvent
  | IgnoredEvent
  | UnknownEvent;

export type ExotelParseErrorCode =
  | "invalid_json"
  | "not_an_object"
  | "missing_event"
  | "missing_field"
  | "invalid_field"
  | "unsupported_encoding"
  | "binary_frame";

export interface ExotelParseError {
  readonly code: ExotelParseErrorCode;
  /** Which event and field; never the payload itself. */
  readonly detail: string;
}

export type ExotelParseResult =
  | { readonly ok: true; readonly event: ExotelEvent }
  | { readonly ok: false; readonly error: ExotelParseError };
