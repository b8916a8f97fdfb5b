/**
 * SIMULATED EXOTEL: places a call against any bridge URL exactly as Exotel's Voicebot applet would,
 * per /work/shared/protocols/exotel.md, and measures what comes back. Written independently of the
 * bridge's protocol modules (app/src/exotel, app/src/call): only pure audio helpers are shared.
 *
 * What it sends: the upgrade (`?sample-rate=`, custom parameters in the query, Basic auth from the
 * URL's userinfo or an option), `connected`, `start` (stream_sid, call_sid, account_sid, from, to,
 * custom_parameters, media_format with string numbers), caller audio as `media` frames of
 * `frameMs` (default 100 ms) at real-time pace, silence frames after the audio (Exotel streams
 * continuously), `dtmf` at given times, echoes of `mark`, then `stop` + close at hang-up, unless
 * the bridge closes first. Options switch to camelCase keys and numbers-as-numbers to exercise the
 * bridge's leniency.
 *
 * What it does with what it receives: each media payload is queued and "played" on a simulated
 * clock at real time (playback starts on arrival when nothing is playing); `clear` drops queued
 * audio that has not started (the frame playing finishes); a `mark` is echoed when all audio
 * queued before it has played. It checks every frame against Exotel's rules (payload a multiple of
 * 20 ms at the stream rate, at least 3,200 bytes, at most 100 KB, strict base64, right stream_sid)
 * and records the audio queued ahead, marks, clears, latencies and how the call ended.
 *
 * Clock: t = 0 is when `start` is sent. Caller media frame k carries timeline audio
 * [k * frameMs, (k + 1) * frameMs) and is sent at (k + 1) * frameMs, once that audio has been
 * "captured", as on a phone line. Caller audio (at its timeline position) and agent audio (at the
 * time it plays) share one time axis, so the stereo recording (caller left, agent right) is aligned.
 *
 *   const { report, audio } = await placeCall({ url: "ws://127.0.0.1:10002/media", sampleRate: 8000,
 *     audio: [{ wav: "fixtures/caller-order-status-8k.wav", atMs: 1000 }], hangupAfterMs: 15000 });
 *   writeWav("call.wav", stereoRecording(audio), audio.sampleRate, 2);
 *
 * Low level, for malformed-frame tests:
 *   const sock = await ExotelSocket.connect({ url, sampleRate: 8000 });
 *   sock.sendConnected(); sock.sendStart(); sock.sendRaw("{bad json"); sock.sendMedia(pcm);
 *   await sock.waitFor((frames) => frames.some((f) => f.event === "media"), 5000);
 *   const { code } = await sock.closed;
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocket } from "ws";
import { bytesPerMs, convertRate, pcmMs, speechSegments, type VadOptions } from "./audio.js";
import { encodeWav, interleaveStereo, readMonoWav } from "./wav.js";

export type ExotelSampleRate = 8000 | 16000 | 24000;

/** Exotel's rules for what a bridge sends (exotel.md, "Audio rules for what we send"). */
export const FRAME_UNIT_MS = 20;
export const MIN_FRAME_BYTES = 3200;
export const MAX_FRAME_BYTES = 100_000;

export interface ExotelSocketOptions {
  /** `ws://` or `wss://`; userinfo (`wss://key:token@host/media`) becomes HTTP Basic auth. */
  readonly url: string;
  /** Sets `?sample-rate=` on the URL; default: the URL's own value, else 8000 (not added). */
  readonly sampleRate?: ExotelSampleRate;
  /** `key:token` for HTTP Basic auth (wins over the URL's userinfo). */
  readonly basicAuth?: string;
  /** Extra query parameters (Exotel's custom parameters ride on the applet URL). */
  readonly query?: Readonly<Record<string, string>>;
  /** Exotel gives up on a handshake after about 10 s. */
  readonly connectTimeoutMs?: number;
  /** Accept self-signed certificates on wss:// (Exotel itself would not). */
  readonly insecure?: boolean;
  /** Key spelling: Exotel's documented snake_case, or the camelCase some paths use. */
  readonly spelling?: "snake" | "camel";
  /** Numbers as strings (Exotel's usual) or as JSON numbers. */
  readonly numbers?: "string" | "number";
  readonly streamSid?: string;
  readonly callSid?: string;
  readonly accountSid?: string;
  readonly from?: string;
  readonly to?: string;
  /** Sent in start.custom_parameters (and, by placeCall, in the URL query). */
  readonly customParameters?: Readonly<Record<string, string>>;
}

/** A frame received from the bridge. */
export interface ReceivedFrame {
  /** ms on the call clock (0 = start sent; negative before). */
  readonly atMs: number;
  readonly bytes: number;
  readonly binary: boolean;
  /** The parsed JSON, or undefined when it is not JSON. */
  readonly json: unknown;
  /** `event` of the JSON, when present. */
  readonly event: string | undefined;
  readonly text: string;
}

export class ExotelConnectError extends Error {
  override readonly name = "ExotelConnectError";
  constructor(
    message: string,
    /** HTTP status when the bridge refused the upgrade. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface SocketClose {
  readonly code: number;
  readonly reason: string;
  /** Who sent the close first: "caller" (this simulator) or "bridge". */
  readonly by: "caller" | "bridge";
  readonly atMs: number;
}

function newSid(prefix: string): string {
  return `${prefix}${randomBytes(8).toString("hex")}`;
}

/** The URL as it will be dialled (userinfo removed, sample-rate and query added), and the auth. */
export function dialUrl(opts: ExotelSocketOptions): { url: string; shown: string; authorization?: string } {
  const u = new URL(opts.url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:")
    throw new Error(`bridge URL must be ws:// or wss://: ${opts.url}`);
  let basic = opts.basicAuth;
  if (basic === undefined && (u.username || u.password)) {
    basic = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  }
  u.username = "";
  u.password = "";
  if (opts.sampleRate !== undefined) u.searchParams.set("sample-rate", String(opts.sampleRate));
  for (const [k, v] of Object.entries(opts.query ?? {})) u.searchParams.set(k, v);
  const url = u.toString();
  return {
    url,
    shown: url,
    ...(basic !== undefined && { authorization: `Basic ${Buffer.from(basic).toString("base64")}` }),
  };
}

/**
 * A low-level Exotel-side socket: sends well-formed (or deliberately malformed) frames, records
 * everything received. `placeCall` builds the full call simulation on it.
 */
export class ExotelSocket {
  readonly received: ReceivedFrame[] = [];
  readonly closed: Promise<SocketClose>;
  readonly streamSid: string;
  readonly callSid: string;
  readonly accountSid: string;
  readonly sampleRate: ExotelSampleRate;
  /** How long the WebSocket handshake took. */
  handshakeMs = 0;
  /** performance.now() of t = 0 on the call clock; set by sendStart() (or by hand). */
  t0: number;
  closeInfo: SocketClose | undefined;
  private seq = 0;
  private chunk = 0;
  private closeSentFirst = false;
  private readonly listeners = new Set<(f: ReceivedFrame) => void>();
  private resolveClosed!: (c: SocketClose) => void;

  private constructor(
    readonly ws: WebSocket,
    readonly options: ExotelSocketOptions,
    sampleRate: ExotelSampleRate,
  ) {
    this.streamSid = options.streamSid ?? newSid("MZ");
    this.callSid = options.callSid ?? newSid("CA");
    this.accountSid = options.accountSid ?? "ACsimulated";
    this.sampleRate = sampleRate;
    this.t0 = performance.now();
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
    ws.on("message", this.onMessage);
    ws.on("close", this.onClose);
    ws.on("error", () => {
      // 'close' follows with 1006; nothing else to do
    });
  }

  /** Opens the WebSocket like Exotel does; rejects with ExotelConnectError (with the HTTP status) when refused. */
  static connect(opts: ExotelSocketOptions): Promise<ExotelSocket> {
    const { url, authorization } = dialUrl(opts);
    const rate = (opts.sampleRate ??
      Number(new URL(url).searchParams.get("sample-rate") ?? 8000)) as ExotelSampleRate;
    if (rate !== 8000 && rate !== 16000 && rate !== 24000) {
      return Promise.reject(
        new ExotelConnectError(`sample rate ${rate} is not one Exotel uses (8000, 16000, 24000)`),
      );
    }
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        handshakeTimeout: opts.connectTimeoutMs ?? 10_000,
        ...(authorization !== undefined && { headers: { authorization } }),
        ...(opts.insecure && { rejectUnauthorized: false }),
      });
      let settled = false;
      ws.once("unexpected-response", (_req, res) => {
        settled = true;
        res.resume();
        ws.terminate();
        reject(
          new ExotelConnectError(`bridge refused the upgrade with HTTP ${res.statusCode}`, res.statusCode),
        );
      });
      ws.once("error", (err) => {
        if (settled) return;
        settled = true;
        reject(new ExotelConnectError(`could not connect: ${err.message}`));
      });
      ws.once("open", () => {
        settled = true;
        const sock = new ExotelSocket(ws, opts, rate);
        sock.handshakeMs = performance.now() - started;
        resolve(sock);
      });
    });
  }

  /** ms on the call clock. */
  now(): number {
    return performance.now() - this.t0;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  onFrame(cb: (f: ReceivedFrame) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Resolves when `predicate(received)` holds; rejects after `timeoutMs` (or on close) naming `what`. */
  waitFor(
    predicate: (frames: readonly ReceivedFrame[]) => boolean,
    timeoutMs = 5000,
    what = "frames",
  ): Promise<void> {
    if (predicate(this.received)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => done(new Error(`simulated Exotel: timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      const off = this.onFrame(() => {
        if (predicate(this.received)) done();
      });
      void this.closed.then(() => {
        if (predicate(this.received)) done();
        else done(new Error(`simulated Exotel: socket closed while waiting for ${what}`));
      });
    });
  }

  // ------------------------------------------------------------ sending

  sendJson(obj: unknown): void {
    this.sendRaw(JSON.stringify(obj));
  }

  /** A string goes as a text frame, a Buffer as a binary frame. */
  sendRaw(data: string | Buffer): void {
    if (this.isOpen) this.ws.send(data, { binary: Buffer.isBuffer(data) });
  }

  private key(snake: string): string {
    if (this.options.spelling !== "camel") return snake;
    return snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  }

  private num(n: number): string | number {
    return this.options.numbers === "number" ? n : String(n);
  }

  /** Builds an Exotel frame with this socket's spelling and number style. */
  frame(event: string, body: Record<string, unknown> = {}, withSid = true): Record<string, unknown> {
    const out: Record<string, unknown> = { event };
    if (event !== "connected") out[this.key("sequence_number")] = this.num(++this.seq);
    if (withSid) out[this.key("stream_sid")] = this.streamSid;
    for (const [k, v] of Object.entries(body)) out[k] = v;
    return out;
  }

  sendConnected(): void {
    this.sendJson({ event: "connected" });
  }

  /** Sends `start` and sets t = 0 of the call clock. */
  sendStart(): void {
    const k = (s: string) => this.key(s);
    const start: Record<string, unknown> = {
      [k("stream_sid")]: this.streamSid,
      [k("call_sid")]: this.callSid,
      [k("account_sid")]: this.accountSid,
      from: this.options.from ?? "+919876543210",
      to: this.options.to ?? "+918047491899",
      [k("custom_parameters")]: { ...(this.options.customParameters ?? {}) },
      [k("media_format")]: {
        encoding: "audio/x-raw",
        [k("sample_rate")]: this.num(this.sampleRate),
        [k("bit_rate")]: this.num(16),
      },
    };
    this.t0 = performance.now();
    this.sendJson(this.frame("start", { start }));
  }

  /** One media frame of PCM16 at the stream rate (sent as given: any size, even malformed). */
  sendMedia(pcm: Buffer): void {
    this.chunk++;
    const frameMs = pcmMs(pcm.length, this.sampleRate);
    this.sendJson(
      this.frame("media", {
        media: {
          chunk: this.num(this.chunk),
          timestamp: this.num(Math.round(this.chunk * frameMs)),
          payload: pcm.toString("base64"),
        },
      }),
    );
  }

  sendDtmf(digit: string, durationMs = 100): void {
    this.sendJson(this.frame("dtmf", { dtmf: { digit, duration: this.num(durationMs) } }));
  }

  /** Echo of a mark the bridge sent. */
  sendMarkEcho(name: string): void {
    this.sendJson(this.frame("mark", { mark: { name } }));
  }

  sendStop(reason: "callended" | "stopped" = "callended"): void {
    const k = (s: string) => this.key(s);
    this.sendJson(
      this.frame("stop", {
        stop: { [k("call_sid")]: this.callSid, [k("account_sid")]: this.accountSid, reason },
      }),
    );
  }

  /** Closes from the Exotel side (after `stop`, as Exotel does on hang-up). */
  close(code = 1000, reason = ""): void {
    if (this.ws.readyState !== WebSocket.OPEN && this.ws.readyState !== WebSocket.CONNECTING) return;
    this.closeSentFirst = true;
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** Drops the TCP connection without a close frame (the bridge sees 1006), like a network failure. */
  terminate(): void {
    this.closeSentFirst = true;
    this.ws.terminate();
  }

  // ------------------------------------------------------------ receiving

  private readonly onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const text = isBinary ? "" : buf.toString("utf8");
    let json: unknown;
    if (!isBinary) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const event =
      json !== null && typeof json === "object" && typeof (json as { event?: unknown }).event === "string"
        ? (json as { event: string }).event
        : undefined;
    const f: ReceivedFrame = { atMs: this.now(), bytes: buf.length, binary: isBinary, json, event, text };
    this.received.push(f);
    for (const cb of this.listeners) cb(f);
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    this.closeInfo = {
      code,
      reason: reason.toString("utf8"),
      by: this.closeSentFirst ? "caller" : "bridge",
      atMs: this.now(),
    };
    this.resolveClosed(this.closeInfo);
  };
}

// ====================================================================== the call simulation

/** A piece of caller audio placed on the call's timeline. */
export interface CallerAudio {
  /** When it starts, ms after `start`; default: right after the previous piece (the first at 0). */
  readonly atMs?: number;
  /** A WAV file (any rate, mono or stereo PCM16), or... */
  readonly wav?: string;
  /** ...PCM16 mono at `sampleRate`. */
  readonly pcm?: Buffer;
  readonly sampleRate?: number;
}

export interface DtmfEntry {
  /** ms after `start` of the first digit. */
  readonly atMs: number;
  /** One or more of 0-9 * #, sent as one event per digit. */
  readonly digits: string;
  /** Between digits; default 250 ms. */
  readonly gapMs?: number;
  /** Reported key-press duration; default 100 ms. */
  readonly durationMs?: number;
}

export interface CallOptions extends ExotelSocketOptions {
  readonly audio?: readonly CallerAudio[];
  /** Caller media frame length; default 100 ms (Exotel's usual). */
  readonly frameMs?: number;
  readonly dtmf?: readonly DtmfEntry[];
  /** Caller hangs up (stop + close) this long after `start`. */
  readonly hangupAfterMs?: number;
  /** Safety limit when no hang-up time is set: hang up after this. Default 120 s. */
  readonly maxDurationMs?: number;
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
  readonly latencyMs: number | null;
}

export interface CallReport {
  readonly ok: boolean;
  /** Why the call counts as failed (empty when ok). */
  readonly failures: string[];
  readonly url: string;
  readonly sampleRate: ExotelSampleRate;
  readonly streamSid: string;
  readonly callSid: string;
  readonly startedAt: string;
  /** WebSocket handshake time (TCP + TLS + upgrade). */
  readonly setupMs: number | null;
  /** From `start` to the first agent audio received. */
  readonly firstAgentAudioMs: number | null;
  readonly durationMs: number;
  readonly turns: CallTurn[];
  readonly latency: {
    readonly count: number;
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
    readonly sizes: Record<string, number>;
    readonly violations: number;
    readonly violationSamples: FrameViolation[];
    readonly otherEvents: Record<string, number>;
  };
  /** Most audio queued ahead of the playhead at any time (pacing check; Exotel wants a few hundred ms). */
  readonly maxQueuedAheadMs: number;
  readonly marks: { readonly received: number; readonly echoed: number };
  readonly clears: number;
  readonly interruptions: Array<{
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
    /** Hang-up cause when the caller ended: "hangup_after", "max_duration", "interrupted". */
    readonly cause?: string;
  };
  readonly timeline: Array<{ readonly atMs: number; readonly event: string; readonly detail?: string }>;
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

/** Caller left, agent right. */
export function stereoRecording(audio: CallAudio): Buffer {
  return interleaveStereo(audio.caller, audio.agent);
}

interface Scheduled {
  readonly arrivalMs: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly pcm: Buffer;
}

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_VIOLATION_SAMPLES = 50;

/** Builds the caller timeline: every piece converted to the stream rate and mixed at its offset. */
export function buildCallerTimeline(pieces: readonly CallerAudio[], rate: number): Buffer {
  const placed: Array<{ at: number; pcm: Buffer }> = [];
  let cursor = 0;
  for (const p of pieces) {
    let pcm: Buffer;
    let pieceRate: number;
    if (p.wav !== undefined) {
      const w = readMonoWav(p.wav);
      pcm = w.pcm;
      pieceRate = w.sampleRate;
    } else if (p.pcm !== undefined) {
      pcm = p.pcm;
      pieceRate = p.sampleRate ?? rate;
    } else throw new Error("caller audio needs wav or pcm");
    const converted = convertRate(pcm, pieceRate, rate);
    const at = Math.floor(((p.atMs ?? cursor) * rate) / 1000) * 2;
    placed.push({ at, pcm: converted });
    cursor = ((at + converted.length) / 2 / rate) * 1000;
  }
  const len = placed.reduce((m, p) => Math.max(m, p.at + p.pcm.length), 0);
  const out = Buffer.alloc(len);
  for (const p of placed) {
    for (let i = 0; i + 1 < p.pcm.length; i += 2) {
      const s = out.readInt16LE(p.at + i) + p.pcm.readInt16LE(i);
      out.writeInt16LE(Math.max(-32768, Math.min(32767, s)), p.at + i);
    }
  }
  return out;
}

/**
 * A call in progress. `result` resolves when it has ended (never rejects: failures are in the
 * report); `hangup()` ends it from the caller side now; `socket` is there once connected.
 */
export class ExotelCall {
  readonly result: Promise<CallResult>;
  socket: ExotelSocket | undefined;
  private readonly opts: CallOptions;
  private readonly rate: ExotelSampleRate;
  private readonly frameMs: number;
  private readonly timeline: Buffer;
  private readonly segments: Array<{ startMs: number; endMs: number }>;
  private readonly startedAt = new Date();
  private readonly events: CallReport["timeline"] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private hungUp = false;
  private startSent = false;
  private hangupCause: string | undefined;
  private finished = false;

  // Sender.
  private framesSent = 0;
  private callerSentBytes = 0;
  private readonly callerSent: Buffer[] = [];

  // Player.
  private readonly scheduled: Scheduled[] = [];
  private playEndMs = 0;
  private playing = false;
  private playStartedMs = 0;
  private stopTimer: NodeJS.Timeout | null = null;
  private readonly onsets: number[] = [];
  private maxAheadMs = 0;
  private agentReceivedMs = 0;
  private agentClearedMs = 0;
  private firstAgentAudioMs: number | null = null;
  private mediaFrames = 0;
  private readonly sizes: Record<string, number> = {};
  private violations = 0;
  private readonly violationSamples: FrameViolation[] = [];
  private readonly otherEvents: Record<string, number> = {};
  private readonly pendingMarks: Array<{ name: string; dueMs: number; timer: NodeJS.Timeout }> = [];
  private marksReceived = 0;
  private marksEchoed = 0;
  private clears = 0;
  private readonly interruptions: CallReport["interruptions"] = [];
  private dtmfSent = "";

  constructor(options: CallOptions) {
    this.opts = options;
    const urlRate = Number(new URL(options.url).searchParams.get("sample-rate") ?? 8000);
    this.rate = (options.sampleRate ?? urlRate) as ExotelSampleRate;
    this.frameMs = options.frameMs ?? 100;
    this.timeline = buildCallerTimeline(options.audio ?? [], this.rate);
    this.segments = speechSegments(this.timeline, this.rate, options.vad);
    this.result = this.run();
  }

  /** Hangs up now (stop + close), as the caller putting the phone down. */
  hangup(cause = "hangup"): void {
    const s = this.socket;
    if (this.hungUp || s === undefined || !s.isOpen) return;
    this.hungUp = true;
    this.hangupCause = cause;
    this.emit({ type: "hangup", atMs: s.now(), reason: cause });
    s.sendStop("callended");
    s.close(1000);
  }

  /** What is happening now, for live views. */
  snapshot(): { elapsedMs: number; agentSpeaking: boolean; callerSpeaking: boolean; queuedAheadMs: number } {
    const now = this.socket?.now() ?? 0;
    const callerSpeaking = this.segments.some((s) => s.startMs <= now && now < s.endMs);
    return {
      elapsedMs: now,
      agentSpeaking: this.playing,
      callerSpeaking,
      queuedAheadMs: Math.max(0, this.playEndMs - now),
    };
  }

  /** Caller speech segments found in the audio this call sends. */
  get callerSegments(): ReadonlyArray<{ startMs: number; endMs: number }> {
    return this.segments;
  }

  private emit(e: CallEvent): void {
    const { type, ...rest } = e;
    const detail = Object.entries(rest)
      .filter(([k]) => k !== "atMs")
      .map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v) : v}`)
      .join(" ");
    this.events.push({ atMs: Math.round("atMs" in e ? e.atMs : 0), event: type, ...(detail && { detail }) });
    try {
      this.opts.onEvent?.(e);
    } catch {
      // a view's failure must not break the call
    }
  }

  private later(fn: () => void, atMs: number): void {
    const s = this.socket as ExotelSocket;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.max(0, atMs - s.now()),
    );
    this.timers.add(t);
  }

  private async run(): Promise<CallResult> {
    const inUrl = this.opts.customParametersInUrl ?? true;
    const sockOpts: ExotelSocketOptions = {
      ...this.opts,
      sampleRate: this.rate,
      query: { ...(inUrl ? this.opts.customParameters : {}), ...this.opts.query },
    };
    let shown: string;
    try {
      shown = dialUrl(sockOpts).shown;
    } catch (err) {
      return this.finishRefused((err as Error).message, undefined, this.opts.url);
    }
    this.emit({ type: "connecting", url: shown });
    let sock: ExotelSocket;
    try {
      sock = await ExotelSocket.connect(sockOpts);
    } catch (err) {
      const e = err as ExotelConnectError;
      this.emit({ type: "refused", status: e.status, message: e.message });
      return this.finishRefused(e.message, e.status, shown);
    }
    this.socket = sock;
    this.emit({ type: "connected", handshakeMs: sock.handshakeMs });
    sock.onFrame(this.onFrame);
    sock.sendConnected();
    if (this.opts.startDelayMs) await new Promise((r) => setTimeout(r, this.opts.startDelayMs));
    if (sock.isOpen) {
      sock.sendStart();
      this.startSent = true;
      this.emit({ type: "start_sent", atMs: 0 });
      this.scheduleCaller(sock);
    }
    const close = await sock.closed;
    return this.finish(sock, close, shown);
  }

  private scheduleCaller(sock: ExotelSocket): void {
    // Media at real-time pace, drift-free: frame k goes out at k * frameMs on the call clock.
    const frameBytes = Math.round((this.frameMs * this.rate) / 1000) * 2;
    const silenceAfter = this.opts.silenceAfterAudio ?? true;
    const tick = (): void => {
      if (!sock.isOpen || this.hungUp) return;
      const k = this.framesSent;
      const from = k * frameBytes;
      let pcm: Buffer | null = null;
      if (from < this.timeline.length) {
        pcm = this.timeline.subarray(from, from + frameBytes);
        if (pcm.length < frameBytes) pcm = Buffer.concat([pcm, Buffer.alloc(frameBytes - pcm.length)]);
      } else if (silenceAfter) pcm = Buffer.alloc(frameBytes);
      if (pcm === null) return;
      sock.sendMedia(pcm);
      this.callerSent.push(pcm);
      this.callerSentBytes += pcm.length;
      const t0 = k * this.frameMs;
      const t1 = t0 + this.frameMs;
      for (const s of this.segments) {
        if (s.startMs >= t0 && s.startMs < t1) this.emit({ type: "caller_speech_start", atMs: s.startMs });
        if (s.endMs > t0 && s.endMs <= t1) this.emit({ type: "caller_speech_end", atMs: s.endMs });
      }
      this.framesSent++;
      this.later(tick, (this.framesSent + 1) * this.frameMs);
    };
    // Like a phone line: a frame leaves once its audio has been captured, so the frame carrying
    // [0, frameMs) of the timeline is sent at frameMs.
    this.later(tick, this.frameMs);
    for (const d of this.opts.dtmf ?? []) {
      [...d.digits].forEach((digit, i) => {
        this.later(
          () => {
            if (!sock.isOpen || this.hungUp) return;
            sock.sendDtmf(digit, d.durationMs ?? 100);
            this.dtmfSent += digit;
            this.emit({ type: "dtmf", atMs: sock.now(), digit });
          },
          d.atMs + i * (d.gapMs ?? 250),
        );
      });
    }
    if (this.opts.hangupAfterMs !== undefined)
      this.later(() => this.hangup("hangup_after"), this.opts.hangupAfterMs);
    else this.later(() => this.hangup("max_duration"), this.opts.maxDurationMs ?? 120_000);
  }

  // ------------------------------------------------------------ the player

  private violation(atMs: number, frame: number, bytes: number, problem: string): void {
    this.violations++;
    if (this.violationSamples.length < MAX_VIOLATION_SAMPLES)
      this.violationSamples.push({ atMs: Math.round(atMs), frame, bytes, problem });
    this.emit({ type: "violation", atMs, problem });
  }

  private readonly onFrame = (f: ReceivedFrame): void => {
    const sock = this.socket as ExotelSocket;
    if (f.binary) {
      this.violation(f.atMs, 0, f.bytes, "binary frame (Exotel expects JSON text)");
      return;
    }
    const msg = f.json as Record<string, unknown> | undefined;
    if (msg === undefined || msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      this.violation(f.atMs, 0, f.bytes, "frame is not a JSON object");
      return;
    }
    const event = f.event ?? "(no event)";
    if (event !== "media") this.otherEvents[event] = (this.otherEvents[event] ?? 0) + 1;
    const mediaIndex = event === "media" ? this.mediaFrames + 1 : 0;
    if (event === "media" || event === "mark" || event === "clear") {
      if (msg.stream_sid === undefined)
        this.violation(
          f.atMs,
          mediaIndex,
          f.bytes,
          `${event}: missing stream_sid${msg.streamSid !== undefined ? " (sent camelCase streamSid)" : ""}`,
        );
      else if (msg.stream_sid !== sock.streamSid)
        this.violation(
          f.atMs,
          mediaIndex,
          f.bytes,
          `${event}: wrong stream_sid ${JSON.stringify(msg.stream_sid)}`,
        );
    }
    switch (event) {
      case "media":
        this.onMedia(f, msg);
        return;
      case "clear":
        this.onClear(f.atMs);
        return;
      case "mark":
        this.onMark(f, msg);
        return;
      default:
        this.violation(
          f.atMs,
          0,
          f.bytes,
          `unknown event ${JSON.stringify(event)} (Exotel accepts media, mark, clear)`,
        );
    }
  };

  private onMedia(f: ReceivedFrame, msg: Record<string, unknown>): void {
    this.mediaFrames++;
    const index = this.mediaFrames;
    const media = msg.media as { payload?: unknown } | undefined;
    const payload = media?.payload;
    if (typeof payload !== "string") {
      this.violation(f.atMs, index, 0, "media.payload missing or not a string");
      return;
    }
    if ((payload.length & 3) !== 0 || !STRICT_BASE64.test(payload)) {
      this.violation(f.atMs, index, payload.length, "media.payload is not strict base64");
      return;
    }
    const pcm = Buffer.from(payload, "base64");
    const bytes = pcm.length;
    this.sizes[String(bytes)] = (this.sizes[String(bytes)] ?? 0) + 1;
    const unit = (this.rate / 1000) * 2 * FRAME_UNIT_MS;
    if (bytes % unit !== 0)
      this.violation(
        f.atMs,
        index,
        bytes,
        `payload ${bytes} bytes is not a multiple of ${unit} (20 ms at ${this.rate} Hz)`,
      );
    if (bytes < MIN_FRAME_BYTES)
      this.violation(f.atMs, index, bytes, `payload ${bytes} bytes is under ${MIN_FRAME_BYTES}`);
    if (bytes > MAX_FRAME_BYTES)
      this.violation(f.atMs, index, bytes, `payload ${bytes} bytes is over ${MAX_FRAME_BYTES}`);
    const whole = pcm.subarray(0, bytes & ~1);
    const ms = pcmMs(whole.length, this.rate);
    const now = f.atMs;
    this.agentReceivedMs += ms;
    if (this.firstAgentAudioMs === null) this.firstAgentAudioMs = now;
    const startMs = Math.max(now, this.playEndMs);
    const endMs = startMs + ms;
    this.scheduled.push({ arrivalMs: now, startMs, endMs, pcm: whole });
    this.playEndMs = endMs;
    this.maxAheadMs = Math.max(this.maxAheadMs, endMs - now);
    if (!this.playing) {
      this.playing = true;
      this.playStartedMs = startMs;
      this.onsets.push(startMs);
      const seg = [...this.segments].reverse().find((s) => s.endMs <= startMs);
      const latency = seg && this.isFirstOnsetAfter(seg, startMs) ? startMs - seg.endMs : undefined;
      this.emit({
        type: "agent_audio_start",
        atMs: startMs,
        ...(latency !== undefined && { latencyMs: latency }),
      });
    }
    this.armStopTimer();
  }

  private isFirstOnsetAfter(seg: { endMs: number }, onset: number): boolean {
    return this.onsets.filter((o) => o > seg.endMs && o <= onset).length === 1;
  }

  private armStopTimer(): void {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    const sock = this.socket as ExotelSocket;
    this.stopTimer = setTimeout(
      () => {
        this.stopTimer = null;
        const now = sock.now();
        if (this.playing && now >= this.playEndMs - 1) {
          this.playing = false;
          this.emit({
            type: "agent_audio_stop",
            atMs: this.playEndMs,
            playedMs: this.playEndMs - this.playStartedMs,
          });
        } else if (this.playing) this.armStopTimer();
      },
      Math.max(0, this.playEndMs - sock.now()),
    );
  }

  private onClear(now: number): void {
    this.clears++;
    let dropped = 0;
    const wasPlaying = this.playing && this.playEndMs > now;
    for (let i = this.scheduled.length - 1; i >= 0; i--) {
      const s = this.scheduled[i] as Scheduled;
      if (s.startMs < now) break;
      dropped += s.endMs - s.startMs;
      this.scheduled.splice(i, 1);
    }
    const last = this.scheduled[this.scheduled.length - 1];
    this.playEndMs = last && last.endMs > now ? last.endMs : Math.min(this.playEndMs, now);
    this.agentClearedMs += dropped;
    this.emit({ type: "clear", atMs: now, droppedMs: dropped, wasPlaying });
    if (wasPlaying || dropped > 0) {
      const seg = [...this.segments].reverse().find((s) => s.startMs <= now);
      const reaction = seg && now - seg.startMs < 5000 ? now - seg.startMs : null;
      this.interruptions.push({
        atMs: Math.round(now),
        droppedMs: Math.round(dropped),
        reactionMs: reaction === null ? null : Math.round(reaction),
      });
    }
    if (this.playing) this.armStopTimer();
    // Marks waiting for audio that was just dropped: echo when the playing frame ends, or drop.
    for (const m of this.pendingMarks.splice(0)) {
      clearTimeout(m.timer);
      if ((this.opts.marksOnClear ?? "echo") === "echo") this.scheduleMarkEcho(m.name);
    }
  }

  private onMark(f: ReceivedFrame, msg: Record<string, unknown>): void {
    this.marksReceived++;
    const name = (msg.mark as { name?: unknown } | undefined)?.name;
    if (typeof name !== "string") {
      this.violation(f.atMs, 0, f.bytes, "mark.name missing or not a string");
      return;
    }
    this.emit({ type: "mark", atMs: f.atMs, name });
    this.scheduleMarkEcho(name);
  }

  private scheduleMarkEcho(name: string): void {
    const sock = this.socket as ExotelSocket;
    const due = this.playEndMs;
    const echo = (): void => {
      const i = this.pendingMarks.findIndex((m) => m.name === name);
      if (i >= 0) this.pendingMarks.splice(i, 1);
      if (!sock.isOpen || this.hungUp) return;
      sock.sendMarkEcho(name);
      this.marksEchoed++;
      this.emit({ type: "mark_echoed", atMs: sock.now(), name });
    };
    if (due <= sock.now()) {
      echo();
      return;
    }
    const timer = setTimeout(echo, due - sock.now());
    this.pendingMarks.push({ name, dueMs: due, timer });
  }

  // ------------------------------------------------------------ the end

  private cleanup(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.stopTimer) clearTimeout(this.stopTimer);
    for (const m of this.pendingMarks) clearTimeout(m.timer);
  }

  private finishRefused(message: string, status: number | undefined, url: string): CallResult {
    this.finished = true;
    return {
      report: {
        ok: false,
        failures: [message],
        url,
        sampleRate: this.rate,
        streamSid: "",
        callSid: "",
        startedAt: this.startedAt.toISOString(),
        setupMs: null,
        firstAgentAudioMs: null,
        durationMs: 0,
        turns: [],
        latency: { count: 0, minMs: null, medianMs: null, maxMs: null },
        audio: { callerSentS: 0, callerSpeechS: 0, agentReceivedS: 0, agentPlayedS: 0, agentClearedS: 0 },
        frames: { mediaReceived: 0, sizes: {}, violations: 0, violationSamples: [], otherEvents: {} },
        maxQueuedAheadMs: 0,
        marks: { received: 0, echoed: 0 },
        clears: 0,
        interruptions: [],
        dtmfSent: "",
        end: {
          by: status === undefined ? "error" : "refused",
          code: null,
          reason: message,
          atMs: 0,
          ...(status !== undefined && { status }),
        },
        timeline: this.events,
      },
      audio: { sampleRate: this.rate, caller: Buffer.alloc(0), agent: Buffer.alloc(0) },
    };
  }

  private finish(sock: ExotelSocket, close: SocketClose, url: string): CallResult {
    if (this.finished) throw new Error("call finished twice");
    this.finished = true;
    this.cleanup();
    const endMs = close.atMs;
    this.emit({ type: "closed", atMs: endMs, code: close.code, reason: close.reason, by: close.by });
    if (this.playing) {
      this.playing = false;
      const stopAt = Math.min(endMs, this.playEndMs);
      this.emit({ type: "agent_audio_stop", atMs: stopAt, playedMs: stopAt - this.playStartedMs });
    }

    // Audio as heard: everything scheduled (not cleared), cut at the end of the call.
    const bpm = bytesPerMs(this.rate);
    const totalMs = Math.max(endMs, this.framesSent * this.frameMs);
    const agent = Buffer.alloc(Math.ceil((totalMs * bpm) / 2) * 2);
    let playedMs = 0;
    for (const s of this.scheduled) {
      if (s.startMs >= endMs) continue;
      const at = Math.round((s.startMs * this.rate) / 1000) * 2;
      const keepMs = Math.min(s.endMs, endMs) - s.startMs;
      const keep = Math.min(s.pcm.length, Math.round((keepMs * this.rate) / 1000) * 2, agent.length - at);
      if (keep > 0) s.pcm.copy(agent, at, 0, keep);
      playedMs += keepMs;
    }
    const caller = Buffer.concat(this.callerSent);

    const turns: CallTurn[] = this.segments
      .filter((s) => s.endMs <= endMs)
      .map((seg, i, all) => {
        const next = all[i + 1];
        const onset = this.onsets.find((o) => o > seg.endMs && (next === undefined || o < next.startMs));
        return {
          callerStartMs: seg.startMs,
          callerEndMs: seg.endMs,
          agentStartMs: onset === undefined ? null : Math.round(onset),
          latencyMs: onset === undefined ? null : Math.round(onset - seg.endMs),
        };
      });
    const lat = turns
      .map((t) => t.latencyMs)
      .filter((x): x is number => x !== null)
      .sort((a, b) => a - b);

    const failures: string[] = [];
    if (!this.startSent) failures.push("bridge closed the stream before start was sent");
    if (this.violations > 0) failures.push(`${this.violations} frame-rule violation(s) from the bridge`);
    if (this.mediaFrames === 0) failures.push("no agent audio received");
    if (close.by === "bridge" && close.code !== 1000 && close.code !== 1005)
      failures.push(
        `bridge closed the stream with code ${close.code}${close.reason ? ` (${close.reason})` : ""}`,
      );
    if (close.by === "caller" && this.hangupCause === undefined) failures.push("call interrupted");

    const report: CallReport = {
      ok: failures.length === 0,
      failures,
      url,
      sampleRate: this.rate,
      streamSid: sock.streamSid,
      callSid: sock.callSid,
      startedAt: this.startedAt.toISOString(),
      setupMs: Math.round(sock.handshakeMs),
      firstAgentAudioMs: this.firstAgentAudioMs === null ? null : Math.round(this.firstAgentAudioMs),
      durationMs: Math.round(endMs),
      turns,
      latency: {
        count: lat.length,
        minMs: lat[0] ?? null,
        medianMs: lat.length ? (lat[Math.floor((lat.length - 1) / 2)] as number) : null,
        maxMs: lat[lat.length - 1] ?? null,
      },
      audio: {
        callerSentS: round3(pcmMs(this.callerSentBytes, this.rate) / 1000),
        callerSpeechS: round3(
          this.segments
            .filter((s) => s.startMs < endMs)
            .reduce((a, s) => a + Math.min(s.endMs, endMs) - s.startMs, 0) / 1000,
        ),
        agentReceivedS: round3(this.agentReceivedMs / 1000),
        agentPlayedS: round3(playedMs / 1000),
        agentClearedS: round3(this.agentClearedMs / 1000),
      },
      frames: {
        mediaReceived: this.mediaFrames,
        sizes: this.sizes,
        violations: this.violations,
        violationSamples: this.violationSamples,
        otherEvents: this.otherEvents,
      },
      maxQueuedAheadMs: Math.round(this.maxAheadMs),
      marks: { received: this.marksReceived, echoed: this.marksEchoed },
      clears: this.clears,
      interruptions: this.interruptions,
      dtmfSent: this.dtmfSent,
      end: {
        by: close.by,
        code: close.code,
        reason: close.reason,
        atMs: Math.round(endMs),
        ...(this.hangupCause !== undefined && { cause: this.hangupCause }),
      },
      timeline: this.events,
    };
    return { report, audio: { sampleRate: this.rate, caller, agent } };
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Places a call and resolves with its report and recording when it has ended. */
export function placeCall(options: CallOptions): Promise<CallResult> {
  return new ExotelCall(options).result;
}

/** Starts a call and returns its handle (hang up early, watch it live). */
export function startCall(options: CallOptions): ExotelCall {
  return new ExotelCall(options);
}

/**
 * Writes `<base>.wav` (stereo: caller left, agent right, as heard) and `<base>.json` (the report,
 * plus `extra` fields) into `dir`, creating it. Returns both paths.
 */
export function saveCall(
  result: CallResult,
  dir: string,
  base: string,
  extra: Record<string, unknown> = {},
): { wav: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const wav = join(dir, `${base}.wav`);
  const json = join(dir, `${base}.json`);
  writeFileSync(wav, encodeWav(stereoRecording(result.audio), result.audio.sampleRate, 2));
  writeFileSync(json, `${JSON.stringify({ ...result.report, recording: wav, ...extra }, null, 2)}\n`);
  return { wav, json };
}
