/**
 * Exotel Voicebot (bidirectional stream) wire messages, as typed events.
 * Reference: docs/protocols/exotel.md. Exotel senders disagree on spelling (snake_case vs camelCase)
 * and on number types; the parser normalises all of that, so nothing outside `exotel/` sees it.
 */

export interface ExotelMediaFormat {
  /** Informational: `raw`, `audio/x-raw`, `base64`... */
  readonly encoding?: string;
  readonly sampleRate?: number;
  readonly bitRate?: string;
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
  /** Base64 PCM16 LE mono at the stream rate; kept encoded so passthrough never decodes it. */
  readonly payload: string;
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
  | UnknownEvent;

export type ExotelParseErrorCode =
  | "invalid_json"
  | "not_an_object"
  | "missing_event"
  | "missing_field"
  | "invalid_field"
  | "binary_frame";

export interface ExotelParseError {
  readonly code: ExotelParseErrorCode;
  /** Which event and field; never the payload itself. */
  readonly detail: string;
}

export type ExotelParseResult =
  | { readonly ok: true; readonly event: ExotelEvent }
  | { readonly ok: false; readonly error: ExotelParseError };
