/**
 * The Exotel side of one Voicebot stream, frame by frame: dials the bridge as Exotel's applet does
 * (`?sample-rate=`, custom parameters in the query, Basic auth from the URL's userinfo), sends
 * well-formed or deliberately malformed frames, and records everything the bridge sends back.
 * `ExotelCall` (call.ts) builds the whole call simulation on it; malformed-frame tests use it directly:
 *
 *   const sock = await ExotelSocket.connect({ url, sampleRate: 8000 });
 *   sock.sendConnected(); sock.sendStart(); sock.sendRaw("{bad json"); sock.sendMedia(pcm);
 *   await sock.waitFor((frames) => frames.some((f) => f.event === "media"), 5000);
 *   const { code } = await sock.closed;
 */
import { randomBytes } from "node:crypto";
import { WebSocket } from "ws";
import { mulawEncode, pcmMs } from "../audio.js";

export type ExotelSampleRate = 8000 | 16000 | 24000;

/** Exotel's rules for what a bridge sends: 20 ms units, at least 3,200 bytes, at most 100 KB per frame, as Exotel's Voicebot stream documentation sets them. */
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
  /**
   * Stream encoding: PCM16 (`audio/x-raw`, the Voicebot default) or G.711 mu-law at 8 kHz
   * (`audio/x-mulaw;rate=8000`, the stream-extension option). Media is encoded accordingly.
   */
  readonly encoding?: ExotelEncoding;
  /** "both": caller frames carry `media.track: "inbound"`, and outbound frames can be sent too. */
  readonly tracks?: "inbound" | "both";
  /** DTMF as `{"event":"dtmf","dtmf":{...}}` (default) or flat `{"event":"dtmf","digit":"5"}`. */
  readonly dtmfStyle?: "nested" | "flat";
}

export type ExotelEncoding = "pcm" | "mulaw";

/** Bytes per ms of stream audio: PCM16 (2 per sample) or mu-law (1 per sample). */
export function streamBytesPerMs(rate: number, encoding: ExotelEncoding): number {
  return ((encoding === "mulaw" ? 1 : 2) * rate) / 1000;
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
  readonly closed: Promise<SocketClose>;
  readonly streamSid: string;
  readonly callSid: string;
  readonly accountSid: string;
  readonly sampleRate: ExotelSampleRate;
  readonly encoding: ExotelEncoding;
  /** performance.now() of t = 0 on the call clock; set by sendStart() (or by hand). */
  t0: number;
  private readonly frames: ReceivedFrame[] = [];
  private handshake = 0;
  private closedWith: SocketClose | undefined;
  private seq = 0;
  /** Media chunks sent, per track (each track counts its own chunks and time). */
  private readonly chunks = { inbound: 0, outbound: 0 };
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
    this.encoding = options.encoding ?? "pcm";
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
    if (opts.encoding === "mulaw" && rate !== 8000)
      return Promise.reject(new ExotelConnectError("Exotel streams mu-law at 8000 Hz only"));
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
        sock.handshake = performance.now() - started;
        resolve(sock);
      });
    });
  }

  /** Every frame received so far, in order (a live read-only view). */
  get received(): readonly ReceivedFrame[] {
    return this.frames;
  }

  /** How long the WebSocket handshake took. */
  get handshakeMs(): number {
    return this.handshake;
  }

  /** How the socket closed; undefined while it is open. */
  get closeInfo(): SocketClose | undefined {
    return this.closedWith;
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
        encoding: this.encoding === "mulaw" ? "audio/x-mulaw;rate=8000" : "audio/x-raw",
        [k("sample_rate")]: this.num(this.sampleRate),
        [k("bit_rate")]: this.num(this.encoding === "mulaw" ? 8 : 16),
      },
    };
    this.t0 = performance.now();
    this.sendJson(this.frame("start", { start }));
  }

  /**
   * One caller media frame: PCM16 at the stream rate, encoded to the stream's encoding (sent as
   * given: any size, even malformed). With tracks "both" it carries `track: "inbound"`.
   */
  sendMedia(pcm: Buffer): void {
    this.sendMediaTrack(pcm, this.options.tracks === "both" ? "inbound" : undefined);
  }

  /** One frame of what the caller hears (`track: "outbound"`), for streams with both tracks. */
  sendOutboundMedia(pcm: Buffer): void {
    this.sendMediaTrack(pcm, "outbound");
  }

  private sendMediaTrack(pcm: Buffer, track: "inbound" | "outbound" | undefined): void {
    const n = ++this.chunks[track ?? "inbound"];
    const frameMs = pcmMs(pcm.length, this.sampleRate);
    const payload = this.encoding === "mulaw" ? mulawEncode(pcm) : pcm;
    this.sendJson(
      this.frame("media", {
        media: {
          ...(track !== undefined && { track }),
          chunk: this.num(n),
          timestamp: this.num(Math.round(n * frameMs)),
          payload: payload.toString("base64"),
        },
      }),
    );
  }

  sendDtmf(digit: string, durationMs = 100): void {
    if (this.options.dtmfStyle === "flat") this.sendJson({ event: "dtmf", digit });
    else this.sendJson(this.frame("dtmf", { dtmf: { digit, duration: this.num(durationMs) } }));
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
    this.frames.push(f);
    for (const cb of this.listeners) cb(f);
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    const info: SocketClose = {
      code,
      reason: reason.toString("utf8"),
      by: this.closeSentFirst ? "caller" : "bridge",
      atMs: this.now(),
    };
    this.closedWith = info;
    this.resolveClosed(info);
  };
}
