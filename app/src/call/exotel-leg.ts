/**
 * The Exotel side of one call: the socket Exotel's Voicebot applet opened, its messages parsed and
 * bounded (bad frames counted, too many end the call), the `start` identity and stream format
 * (PCM16 at 8/16/24 kHz or mu-law at 8 kHz, docs/protocols.md "Audio formats"), and everything sent
 * back (media, mark, clear) under the socket's backpressure limit, numbered by one
 * OutboundSequencer per stream. It is the playout's sink: agent frames arrive here directly, already
 * in the stream's encoding, and leave on the socket.
 * Caller media goes straight on to the agent leg's uplink; everything else is reported to the Call.
 */
import WebSocket from "ws";
import { type AudioFormat, durationMs, type ExotelSampleRate, exotelFormat } from "../audio/formats.js";
import { ulawToPcm16 } from "../audio/mulaw.js";
import { base64DecodedLength, isStrictBase64 } from "../audio/pcm16.js";
import { EXOTEL_CLOSE_NORMAL } from "../call-endings.js";
import { OutboundSequencer } from "../exotel/frames.js";
import type { ExotelEvent, MediaEvent, StartEvent } from "../exotel/messages.js";
import { parseExotelMessage } from "../exotel/parse.js";
import { resolveStreamFormat, type StreamFormatNote } from "../exotel/stream-format.js";
import type { CallIdentity } from "./hooks.js";
import { inboundListener, tooManyBadFrames } from "./inbound-frames.js";
import type { ExotelLegEvents, ExotelSide } from "./legs.js";
import type { CallTelemetry } from "./telemetry.js";

/** Gentle close first; then the socket is destroyed. */
const FORCE_CLOSE_MS = 1000;

/** Where caller audio goes: the agent leg's uplink. */
export interface CallerAudioSink {
  /** One media payload: strict base64, `bytes` long once decoded, `ms` of audio. */
  accept(b64: string, bytes: number, ms: number): void;
}

export interface ExotelLegOptions {
  /** Upgrade query parameters (first value of each). */
  readonly query: Readonly<Record<string, string>>;
  /** From `?sample-rate=`; undefined when absent. */
  readonly sampleRate: ExotelSampleRate | undefined;
  readonly maxBufferedBytes: number;
  readonly now: () => number;
}

export class ExotelLeg implements ExotelSide {
  lastMediaAt: number;
  identity: CallIdentity;
  closed = false;
  /** The stream's format: final once `start` has arrived (the playout and uplink read it then). */
  streamFormat: AudioFormat;
  /** Exotel `silence` notices (SilenceAction=notify): nothing to do with them yet. */
  silenceNotices = 0;
  /** Frames of the outbound track (streams configured with both tracks): the bot's own audio. */
  outboundTrackFrames = 0;
  private started = false;
  private disposed = false;
  /** Numbers every frame sent; replaced at `start` once the stream sid and format are known. */
  private sequencer: OutboundSequencer;
  /** Custom parameters delivered on `connected` (some stream configurations put them there). */
  private connectedParameters: Readonly<Record<string, string>> = {};
  private caller: CallerAudioSink | undefined;

  constructor(
    private readonly ws: WebSocket,
    callId: string,
    private readonly options: ExotelLegOptions,
    private readonly telemetry: CallTelemetry,
    private readonly events: ExotelLegEvents,
  ) {
    this.streamFormat = exotelFormat(options.sampleRate ?? 8000);
    this.sequencer = new OutboundSequencer("", this.streamFormat);
    this.lastMediaAt = options.now();
    this.identity = {
      callId,
      callSid: "",
      streamSid: "",
      accountSid: "",
      from: "",
      to: "",
      customParameters: {},
      sampleRate: this.streamFormat.sampleRate as ExotelSampleRate,
    };
    ws.on("message", this.onMessage);
    ws.on("close", this.onClose);
    ws.on("error", this.onError);
  }

  /** Connects caller media to the agent leg (before `start`, so no frame can miss it). */
  sendCallerAudioTo(sink: CallerAudioSink): void {
    this.caller = sink;
  }

  // ------------------------------------------------------------ inbound

  private readonly onMessage = inboundListener<ExotelEvent>({
    live: () => !this.disposed,
    parse: parseExotelMessage,
    event: (event) => this.onEvent(event),
    bad: (code, detail) => this.badFrame(code, detail),
    failed: (err) => this.events.failed(err),
  });

  private onEvent(event: ExotelEvent): void {
    switch (event.event) {
      case "media":
        this.onMedia(event);
        return;
      case "start":
        this.onStart(event);
        return;
      case "dtmf":
        this.telemetry.dtmf(event.digit, event.durationMs);
        this.events.dtmf(event.digit);
        return;
      case "mark":
        this.events.markPlayed(event.name);
        return;
      case "stop":
        this.telemetry.record(
          "info",
          { event: "exotel_stop", reason: event.reason },
          "Exotel stopped the stream",
        );
        this.events.stopped(event.reason);
        return;
      case "connected":
        this.connectedParameters = event.customParameters;
        this.telemetry.record("debug", { event: "exotel_connected" }, "Exotel connected event");
        return;
      case "silence":
        // Accepted without a log line: a notify-configured stream sends one per quiet spell.
        this.silenceNotices++;
        return;
      case "ignored":
        // The outbound track echoes what the caller hears, ten times a second: never caller audio.
        this.outboundTrackFrames++;
        return;
      case "unknown":
        this.telemetry.record(
          "debug",
          { event: "exotel_unknown_event", name: event.name },
          "ignoring unknown Exotel event",
        );
        return;
    }
  }

  private onStart(event: StartEvent): void {
    if (this.started) {
      this.badFrame("invalid_field", "second start event ignored");
      return;
    }
    this.started = true;
    const s = event.start;
    // Upgrade query, then connected's custom parameters, then start's: the later source wins.
    const params: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(this.options.query)) params[k] = v;
    for (const [k, v] of Object.entries(this.connectedParameters)) params[k] = v;
    for (const [k, v] of Object.entries(s.customParameters)) params[k] = v;
    const resolved = resolveStreamFormat(s.mediaFormat, this.options.sampleRate);
    for (const note of resolved.notes) this.logFormatNote(note);
    this.streamFormat = resolved.format;
    this.sequencer = new OutboundSequencer(s.streamSid, resolved.format);
    this.identity = {
      callId: this.identity.callId,
      callSid: s.callSid,
      streamSid: s.streamSid,
      accountSid: s.accountSid,
      from: s.from,
      to: s.to,
      customParameters: params,
      // Mu-law is 8 kHz, so this is always a stream rate; recordings see decoded PCM16 at it.
      sampleRate: resolved.format.sampleRate as ExotelSampleRate,
    };
    this.telemetry.relabel({ call_sid: s.callSid, stream_sid: s.streamSid });
    this.telemetry.started(this.identity, s.mediaFormat);
    this.lastMediaAt = this.options.now();
    this.events.started(this.identity);
  }

  /** `?sample-rate=` configures Exotel, so it wins; what start.media_format said is logged when it differs. */
  private logFormatNote(note: StreamFormatNote): void {
    switch (note.kind) {
      case "sample_rate_mismatch":
        this.telemetry.record(
          "warn",
          { event: "sample_rate_mismatch", url: note.url, reported: note.reported },
          "sample-rate in the URL and start.media_format disagree; using the URL's",
        );
        return;
      case "sample_rate_invalid":
        this.telemetry.record(
          "warn",
          { event: "sample_rate_invalid", reported: note.reported },
          "start.media_format rate unsupported; using 8000",
        );
        return;
      case "url_rate_ignored":
        this.telemetry.record(
          "warn",
          { event: "url_rate_ignored", url: note.url },
          "mu-law stream: sample-rate in the URL does not apply, using 8000",
        );
        return;
      case "encoding_assumed":
        // The Voicebot applet documents PCM16 and may leave the encoding out: not worth a warning.
        this.telemetry.record(
          "debug",
          { event: "stream_encoding_assumed" },
          "start.media_format names no encoding; PCM16 assumed",
        );
        return;
    }
  }

  private onMedia(event: MediaEvent): void {
    if (!this.started) {
      this.badFrame("invalid_field", "media before start");
      return;
    }
    const b64 = event.payload;
    if (!isStrictBase64(b64)) {
      this.badFrame("invalid_field", "media.payload is not base64");
      return;
    }
    const bytes = base64DecodedLength(b64);
    const ms = durationMs(bytes, this.streamFormat);
    this.telemetry.callerMedia(bytes, ms);
    this.lastMediaAt = this.options.now();
    this.caller?.accept(b64, bytes, ms);
  }

  private badFrame(code: string, detail: string): void {
    if (code === "unsupported_encoding") {
      // A stream whose audio the bridge cannot read: nothing useful can happen on this call.
      this.telemetry.badFrame("exotel", code, detail);
      this.telemetry.record(
        "error",
        { event: "unsupported_stream_encoding", detail },
        "Exotel stream encoding not supported; ending the call",
      );
      this.events.protocolError(`unsupported stream encoding: ${detail}`);
      return;
    }
    const over = tooManyBadFrames(this.telemetry.badFrame("exotel", code, detail), "exotel");
    if (over !== undefined) this.events.protocolError(over);
  }

  private readonly onClose = (code: number, reason: Buffer): void => {
    this.closed = true;
    this.events.closed(code, reason.length ? reason.toString() : "");
  };

  private readonly onError = (err: Error): void => {
    this.telemetry.record(
      "warn",
      { event: "exotel_socket_error", err: { message: err.message } },
      "Exotel socket error",
    );
  };

  // ------------------------------------------------------------ outbound (the playout's sink)

  /** `payload` is in the stream's own encoding (mu-law bytes on a mu-law stream). */
  media(payload: Buffer, ms: number, playAt: number, now: number): void {
    this.send(this.sequencer.media(payload.toString("base64"), payload.length));
    // Recordings are PCM16: a mu-law frame is decoded only when one is running.
    const tapped =
      this.streamFormat.encoding === "ulaw" && this.telemetry.tap !== undefined
        ? ulawToPcm16(payload)
        : payload;
    this.telemetry.agentMedia(tapped, ms, playAt, now);
  }

  mark(name: string): void {
    this.send(this.sequencer.mark(name));
  }

  clear(): void {
    this.send(this.sequencer.clear());
  }

  private send(frame: string): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.events.slow(ws.bufferedAmount);
      return;
    }
    ws.send(frame);
  }

  // ------------------------------------------------------------ teardown

  close(): void {
    if (this.closed) return;
    const ws = this.ws;
    ws.close(EXOTEL_CLOSE_NORMAL);
    setTimeout(() => {
      if (!this.closed) ws.terminate();
    }, FORCE_CLOSE_MS).unref();
  }

  dispose(): void {
    this.disposed = true;
    this.ws.removeAllListeners();
    // A late 'error' after removeAllListeners would crash the process: keep a no-op listener.
    this.ws.on("error", noop);
  }
}

function noop(): void {}
