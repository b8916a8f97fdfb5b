/**
 * SIMULATED EXOTEL, the whole call: dials the bridge, sends `connected` and `start`, streams the
 * caller timeline as `media` frames at real-time pace (then silence, as Exotel streams
 * continuously), sends DTMF at its times, hangs up (stop + close) when told, hands every frame
 * from the bridge to the player and ends with a report and the recording.
 *
 * Clock: t = 0 is when `start` is sent. Caller media frame k carries timeline audio
 * [k * frameMs, (k + 1) * frameMs) and is sent at (k + 1) * frameMs, once that audio has been
 * "captured", as on a phone line. Caller audio (at its timeline position) and agent audio (at the
 * time it plays) share one time axis, so the stereo recording (caller left, agent right) is aligned.
 */
import { pcmMs, speechSegments } from "../audio.js";
import { Player } from "./player.js";
import { callerTurns, latencySummary, refusedResult, round3 } from "./report.js";
import {
  dialUrl,
  type ExotelConnectError,
  type ExotelSampleRate,
  ExotelSocket,
  type ExotelSocketOptions,
  type SocketClose,
} from "./socket.js";
import { buildCallerTimeline } from "./timeline.js";
import type { CallEvent, CallOptions, CallReport, CallResult } from "./types.js";

/**
 * A call in progress. `result` resolves when it has ended (never rejects: failures are in the
 * report); `hangup()` ends it from the caller side now; `socket` is there once connected.
 */
export class ExotelCall {
  readonly result: Promise<CallResult>;
  private sock: ExotelSocket | undefined;
  private readonly opts: CallOptions;
  private readonly rate: ExotelSampleRate;
  private readonly frameMs: number;
  private readonly timeline: Buffer;
  private readonly segments: Array<{ startMs: number; endMs: number }>;
  private readonly startedAt = new Date();
  private readonly events: Array<CallReport["timeline"][number]> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private hungUp = false;
  private startSent = false;
  private hangupCause: string | undefined;
  private finished = false;

  // Sender.
  private framesSent = 0;
  private callerSentBytes = 0;
  private readonly callerSent: Buffer[] = [];

  private dtmfSent = "";
  private player: Player | undefined;

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
    const s = this.sock;
    if (this.hungUp || s === undefined || !s.isOpen) return;
    this.hungUp = true;
    this.hangupCause = cause;
    this.emit({ type: "hangup", atMs: s.now(), reason: cause });
    s.sendStop("callended");
    s.close(1000);
  }

  /** The socket, once connected. */
  get socket(): ExotelSocket | undefined {
    return this.sock;
  }

  /** What is happening now, for live views. */
  snapshot(): { elapsedMs: number; agentSpeaking: boolean; callerSpeaking: boolean; queuedAheadMs: number } {
    const now = this.socket?.now() ?? 0;
    const callerSpeaking = this.segments.some((s) => s.startMs <= now && now < s.endMs);
    return {
      elapsedMs: now,
      agentSpeaking: this.player?.agentSpeaking ?? false,
      callerSpeaking,
      queuedAheadMs: this.player?.queuedAheadMs(now) ?? 0,
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
    const s = this.sock as ExotelSocket;
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
      return this.refused((err as Error).message, undefined, this.opts.url);
    }
    this.emit({ type: "connecting", url: shown });
    let sock: ExotelSocket;
    try {
      sock = await ExotelSocket.connect(sockOpts);
    } catch (err) {
      const e = err as ExotelConnectError;
      this.emit({ type: "refused", status: e.status, message: e.message });
      return this.refused(e.message, e.status, shown);
    }
    this.sock = sock;
    this.emit({ type: "connected", handshakeMs: sock.handshakeMs });
    const player = new Player({
      rate: this.rate,
      encoding: sock.encoding,
      streamSid: sock.streamSid,
      segments: this.segments,
      marksOnClear: this.opts.marksOnClear ?? "echo",
      now: () => sock.now(),
      canSend: () => sock.isOpen && !this.hungUp,
      sendMarkEcho: (name) => sock.sendMarkEcho(name),
      emit: (e) => this.emit(e),
    });
    this.player = player;
    sock.onFrame(player.onFrame);
    sock.sendConnected();
    if (this.opts.startDelayMs) await new Promise((r) => setTimeout(r, this.opts.startDelayMs));
    if (sock.isOpen) {
      sock.sendStart();
      this.startSent = true;
      this.emit({ type: "start_sent", atMs: 0 });
      this.scheduleCaller(sock);
    }
    const close = await sock.closed;
    return this.finish(sock, player, close, shown);
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
      // Both tracks: what the caller heard over the same span goes out as an outbound frame.
      if (this.opts.tracks === "both" && this.player)
        sock.sendOutboundMedia(this.player.heardBetween(k * this.frameMs, this.frameMs));
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
    else {
      this.later(() => this.hangup("max_duration"), this.opts.maxDurationMs ?? 120_000);
      const idle = this.opts.idleHangupMs;
      if (idle !== undefined) this.later(() => this.watchIdle(sock, idle), this.scriptEndMs());
    }
  }

  /** When the caller's own script (audio, DTMF) is over, on the call clock. */
  private scriptEndMs(): number {
    const audioEnd = (this.timeline.length / 2 / this.rate) * 1000 + this.frameMs;
    const dtmfEnd = (this.opts.dtmf ?? []).reduce(
      (end, d) => Math.max(end, d.atMs + Math.max(0, d.digits.length - 1) * (d.gapMs ?? 250)),
      0,
    );
    return Math.max(audioEnd, dtmfEnd);
  }

  /** Hangs up once the agent has been silent for `idleMs` (checked every 250 ms). */
  private watchIdle(sock: ExotelSocket, idleMs: number): void {
    const since = sock.now();
    const check = (): void => {
      if (!sock.isOpen || this.hungUp) return;
      const now = sock.now();
      const quiet = Math.min(this.player?.quietForMs(now) ?? now, now - since);
      if (quiet >= idleMs) this.hangup("idle");
      else this.later(check, now + 250);
    };
    check();
  }

  // ------------------------------------------------------------ the end

  private refused(message: string, status: number | undefined, url: string): CallResult {
    this.finished = true;
    return refusedResult(message, status, url, this.rate, this.startedAt, this.events);
  }

  private finish(sock: ExotelSocket, player: Player, close: SocketClose, url: string): CallResult {
    if (this.finished) throw new Error("call finished twice");
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const endMs = close.atMs;
    this.emit({ type: "closed", atMs: endMs, code: close.code, reason: close.reason, by: close.by });
    player.finish(endMs);

    const totalMs = Math.max(endMs, this.framesSent * this.frameMs);
    const heard = player.heard(endMs, totalMs);
    const caller = Buffer.concat(this.callerSent);
    const p = player.stats();
    const turns = callerTurns(this.segments, p.onsets, endMs);

    const failures: string[] = [];
    if (!this.startSent) failures.push("bridge closed the stream before start was sent");
    if (p.frames.violations > 0)
      failures.push(`${p.frames.violations} frame-rule violation(s) from the bridge`);
    if (p.frames.mediaReceived === 0) failures.push("no agent audio received");
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
      handshakeMs: Math.round(sock.handshakeMs),
      firstAgentAudioMs: p.firstAgentAudioMs === null ? null : Math.round(p.firstAgentAudioMs),
      durationMs: Math.round(endMs),
      turns,
      latency: latencySummary(turns),
      audio: {
        callerSentS: round3(pcmMs(this.callerSentBytes, this.rate) / 1000),
        callerSpeechS: round3(
          this.segments
            .filter((s) => s.startMs < endMs)
            .reduce((a, s) => a + Math.min(s.endMs, endMs) - s.startMs, 0) / 1000,
        ),
        agentReceivedS: round3(p.agentReceivedMs / 1000),
        agentPlayedS: round3(heard.playedMs / 1000),
        agentClearedS: round3(p.agentClearedMs / 1000),
      },
      frames: p.frames,
      maxQueuedAheadMs: Math.round(p.maxAheadMs),
      marks: p.marks,
      clears: p.clears,
      interruptions: p.interruptions,
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
    return { report, audio: { sampleRate: this.rate, caller, agent: heard.pcm } };
  }
}

/** Places a call and resolves with its report and recording when it has ended. */
export function placeCall(options: CallOptions): Promise<CallResult> {
  return new ExotelCall(options).result;
}

/** Starts a call and returns its handle (hang up early, watch it live). */
export function startCall(options: CallOptions): ExotelCall {
  return new ExotelCall(options);
}
