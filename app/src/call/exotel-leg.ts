/**
 * The Exotel side of one call: the socket Exotel's Voicebot applet opened, its messages parsed and
 * bounded (bad frames counted, too many end the call), the `start` identity and stream rate, and
 * everything sent back (media, mark, clear) under the socket's backpressure limit. It is the
 * playout's sink: agent frames arrive here directly and leave on the socket.
 * Caller media goes straight on to the agent leg's uplink; everything else is reported to the Call.
 */
import WebSocket from "ws";
import { durationMs, type ExotelSampleRate, exotelFormat, isExotelSampleRate } from "../audio/formats.js";
import { base64DecodedLength, isStrictBase64 } from "../audio/pcm16.js";
import { EXOTEL_CLOSE_NORMAL } from "../call-endings.js";
import { clearFrame, encodeStreamSid, markFrame, mediaFrame } from "../exotel/frames.js";
import type { ExotelEvent, MediaEvent, StartEvent } from "../exotel/messages.js";
import { parseExotelMessage } from "../exotel/parse.js";
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
  private started = false;
  private disposed = false;
  private encodedSid = '""';
  private sampleRate: ExotelSampleRate;
  private caller: CallerAudioSink | undefined;

  constructor(
    private readonly ws: WebSocket,
    callId: string,
    private readonly options: ExotelLegOptions,
    private readonly telemetry: CallTelemetry,
    private readonly events: ExotelLegEvents,
  ) {
    this.sampleRate = options.sampleRate ?? 8000;
    this.lastMediaAt = options.now();
    this.identity = {
      callId,
      callSid: "",
      streamSid: "",
      accountSid: "",
      from: "",
      to: "",
      customParameters: {},
      sampleRate: this.sampleRate,
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
        this.telemetry.record("debug", { event: "exotel_connected" }, "Exotel connected event");
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
    this.encodedSid = encodeStreamSid(s.streamSid);
    // Upgrade query first, then start.custom_parameters (the same values, when both are present).
    const params: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(this.options.query)) params[k] = v;
    for (const [k, v] of Object.entries(s.customParameters)) params[k] = v;
    this.sampleRate = this.agreeSampleRate(s.mediaFormat.sampleRate);
    this.identity = {
      callId: this.identity.callId,
      callSid: s.callSid,
      streamSid: s.streamSid,
      accountSid: s.accountSid,
      from: s.from,
      to: s.to,
      customParameters: params,
      sampleRate: this.sampleRate,
    };
    this.telemetry.relabel({ call_sid: s.callSid, stream_sid: s.streamSid });
    this.telemetry.started(this.identity, s.mediaFormat);
    this.lastMediaAt = this.options.now();
    this.events.started(this.identity);
  }

  /** `?sample-rate=` configures Exotel, so it wins; start.media_format is cross-checked. */
  private agreeSampleRate(reported: number | undefined): ExotelSampleRate {
    const fromUrl = this.options.sampleRate;
    if (reported === undefined) return fromUrl ?? 8000;
    if (fromUrl !== undefined) {
      if (reported !== fromUrl) {
        this.telemetry.record(
          "warn",
          { event: "sample_rate_mismatch", url: fromUrl, reported },
          "sample-rate in the URL and start.media_format disagree; using the URL's",
        );
      }
      return fromUrl;
    }
    if (isExotelSampleRate(reported)) return reported;
    this.telemetry.record(
      "warn",
      { event: "sample_rate_invalid", reported },
      "start.media_format rate unsupported; using 8000",
    );
    return 8000;
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
    const ms = durationMs(bytes, exotelFormat(this.sampleRate));
    this.telemetry.callerMedia(bytes, ms);
    this.lastMediaAt = this.options.now();
    this.caller?.accept(b64, bytes, ms);
  }

  private badFrame(code: string, detail: string): void {
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

  media(pcm: Buffer, ms: number, playAt: number, now: number): void {
    this.send(mediaFrame(this.encodedSid, pcm.toString("base64")));
    this.telemetry.agentMedia(pcm, ms, playAt, now);
  }

  mark(name: string): void {
    this.send(markFrame(this.encodedSid, name));
  }

  clear(): void {
    this.send(clearFrame(this.encodedSid));
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
