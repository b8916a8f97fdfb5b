/**
 * Exotel's playout of what the bridge sends, on a simulated clock: each media payload is checked
 * against Exotel's frame rules, queued and "played" in real time (playback starts on arrival when
 * nothing is playing); `clear` drops queued audio that has not started (the frame playing
 * finishes); each `mark` is echoed once all audio queued before it has played. It also keeps the
 * figures the report needs (received, cleared, queued ahead, onsets, violations).
 */
import { mulawDecode, pcmMs } from "../audio.js";
import {
  type ExotelEncoding,
  type ExotelSampleRate,
  FRAME_UNIT_MS,
  MAX_FRAME_BYTES,
  MIN_FRAME_BYTES,
  type ReceivedFrame,
  streamBytesPerMs,
} from "./socket.js";
import type { CallEvent, CallReport, FrameViolation } from "./types.js";

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_VIOLATION_SAMPLES = 50;

interface Scheduled {
  readonly arrivalMs: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly pcm: Buffer;
}

/** What the player needs from the call it plays for. */
export interface PlayerHost {
  readonly rate: ExotelSampleRate;
  readonly encoding: ExotelEncoding;
  readonly streamSid: string;
  /** Caller speech segments on the call clock (for turn latency and barge-in reaction). */
  readonly segments: ReadonlyArray<{ readonly startMs: number; readonly endMs: number }>;
  readonly marksOnClear: "echo" | "drop";
  now(): number;
  /** False once the socket closed or the caller hung up: marks are no longer echoed. */
  canSend(): boolean;
  sendMarkEcho(name: string): void;
  emit(e: CallEvent): void;
}

/** The player's figures for the report, read once the call has ended. */
export interface PlayerStats {
  readonly firstAgentAudioMs: number | null;
  readonly agentReceivedMs: number;
  readonly agentClearedMs: number;
  readonly maxAheadMs: number;
  /** Where agent audio started playing after silence, with when its first frame arrived. */
  readonly onsets: ReadonlyArray<{ readonly atMs: number; readonly arrivalMs: number }>;
  readonly frames: CallReport["frames"];
  readonly marks: CallReport["marks"];
  readonly clears: number;
  readonly interruptions: CallReport["interruptions"];
}

export class Player {
  private readonly scheduled: Scheduled[] = [];
  private playEndMs = 0;
  private playing = false;
  private playStartedMs = 0;
  private stopTimer: NodeJS.Timeout | null = null;
  private readonly onsets: number[] = [];
  private readonly onsetArrivals: number[] = [];
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
  /** Last `sequence_number` the bridge sent (every frame), last `media.chunk`, stream bytes so far. */
  private lastSequence = 0;
  private lastChunk = 0;
  private streamBytesReceived = 0;
  private marksEchoed = 0;
  private clears = 0;
  private readonly interruptions: Array<CallReport["interruptions"][number]> = [];

  constructor(private readonly host: PlayerHost) {}

  get agentSpeaking(): boolean {
    return this.playing;
  }

  /** How long nothing of the agent has been playing (0 while it plays). */
  quietForMs(now: number): number {
    return this.playing ? 0 : Math.max(0, now - this.playEndMs);
  }

  /** Audio queued ahead of the playhead now. */
  queuedAheadMs(now: number): number {
    return Math.max(0, this.playEndMs - now);
  }

  get mediaFrameCount(): number {
    return this.mediaFrames;
  }

  get violationCount(): number {
    return this.violations;
  }

  /** Handles one frame from the bridge. */
  readonly onFrame = (f: ReceivedFrame): void => {
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
      else if (msg.stream_sid !== this.host.streamSid)
        this.violation(
          f.atMs,
          mediaIndex,
          f.bytes,
          `${event}: wrong stream_sid ${JSON.stringify(msg.stream_sid)}`,
        );
    }
    this.checkSequence(f, msg, event, mediaIndex);
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

  /** Stops the timers; reports the end of playback when the call ends mid-audio. */
  finish(endMs: number): void {
    if (this.stopTimer) clearTimeout(this.stopTimer);
    this.stopTimer = null;
    for (const m of this.pendingMarks) clearTimeout(m.timer);
    if (this.playing) {
      this.playing = false;
      const stopAt = Math.min(endMs, this.playEndMs);
      this.host.emit({ type: "agent_audio_stop", atMs: stopAt, playedMs: stopAt - this.playStartedMs });
    }
  }

  /**
   * Agent audio as heard: everything scheduled (not cleared), cut at `endMs`, into a buffer of
   * `totalMs`. Returns it with the ms played.
   */
  heard(endMs: number, totalMs: number): { pcm: Buffer; playedMs: number } {
    const pcm = Buffer.alloc(Math.ceil((totalMs * this.host.rate) / 1000) * 2);
    const playedMs = this.mixWindow(pcm, 0, endMs);
    return { pcm, playedMs };
  }

  /** What the caller hears during [fromMs, fromMs + ms) as far as scheduled now, PCM16 at the stream rate. */
  heardBetween(fromMs: number, ms: number): Buffer {
    const out = Buffer.alloc(Math.round((ms * this.host.rate) / 1000) * 2);
    this.mixWindow(out, fromMs, fromMs + ms);
    return out;
  }

  /** Copies scheduled audio overlapping [fromMs, endMs) into `out` (which starts at fromMs); returns the ms copied. */
  private mixWindow(out: Buffer, fromMs: number, endMs: number): number {
    const rate = this.host.rate;
    const sampleAt = (ms: number): number => Math.round((ms * rate) / 1000) * 2;
    let copiedMs = 0;
    for (const s of this.scheduled) {
      if (s.startMs >= endMs || s.endMs <= fromMs) continue;
      const from = Math.max(s.startMs, fromMs);
      const to = Math.min(s.endMs, endMs);
      const src = sampleAt(from - s.startMs);
      const at = sampleAt(from - fromMs);
      const len = Math.min(sampleAt(to - from), s.pcm.length - src, out.length - at);
      if (len > 0) s.pcm.copy(out, at, src, src + len);
      copiedMs += to - from;
    }
    return copiedMs;
  }

  stats(): PlayerStats {
    return {
      firstAgentAudioMs: this.firstAgentAudioMs,
      agentReceivedMs: this.agentReceivedMs,
      agentClearedMs: this.agentClearedMs,
      maxAheadMs: this.maxAheadMs,
      onsets: this.onsets.map((atMs, i) => ({ atMs, arrivalMs: this.onsetArrivals[i] as number })),
      frames: {
        mediaReceived: this.mediaFrames,
        sizes: { ...this.sizes },
        violations: this.violations,
        violationSamples: [...this.violationSamples],
        otherEvents: { ...this.otherEvents },
      },
      marks: { received: this.marksReceived, echoed: this.marksEchoed },
      clears: this.clears,
      interruptions: [...this.interruptions],
    };
  }

  private violation(atMs: number, frame: number, bytes: number, problem: string): void {
    this.violations++;
    if (this.violationSamples.length < MAX_VIOLATION_SAMPLES)
      this.violationSamples.push({ atMs: Math.round(atMs), frame, bytes, problem });
    this.host.emit({ type: "violation", atMs, problem });
  }

  /**
   * The counters Exotel's reference bridges put on what they send, checked when present (the bare
   * documented shape has none): `sequence_number` strictly increasing across every frame,
   * `media.chunk` 1, 2, 3... across media frames, `media.timestamp` the ms of audio already sent.
   */
  private checkSequence(f: ReceivedFrame, msg: Record<string, unknown>, event: string, index: number): void {
    const seqRaw = msg.sequence_number;
    if (seqRaw !== undefined) {
      const seq = Number(seqRaw);
      if (!Number.isInteger(seq) || seq <= this.lastSequence)
        this.violation(
          f.atMs,
          index,
          f.bytes,
          `${event}: sequence_number ${JSON.stringify(seqRaw)} after ${this.lastSequence} (must increase)`,
        );
      else this.lastSequence = seq;
    }
    if (event !== "media") return;
    const media = msg.media as { chunk?: unknown; timestamp?: unknown; payload?: unknown } | undefined;
    if (media?.chunk !== undefined) {
      const chunk = Number(media.chunk);
      if (chunk !== this.lastChunk + 1)
        this.violation(
          f.atMs,
          index,
          f.bytes,
          `media.chunk ${JSON.stringify(media.chunk)} after ${this.lastChunk} (must count media frames)`,
        );
      if (Number.isInteger(chunk)) this.lastChunk = chunk;
    }
    const bytesPerS = streamBytesPerMs(this.host.rate, this.host.encoding) * 1000;
    if (media?.timestamp !== undefined) {
      const expected = Math.floor((this.streamBytesReceived * 1000) / bytesPerS);
      if (Math.abs(Number(media.timestamp) - expected) > 1)
        this.violation(
          f.atMs,
          index,
          f.bytes,
          `media.timestamp ${JSON.stringify(media.timestamp)}, expected ${expected} (ms of audio sent before)`,
        );
    }
    if (typeof media?.payload === "string")
      this.streamBytesReceived += (media.payload.length / 4) * 3 - padding(media.payload);
  }

  private onMedia(f: ReceivedFrame, msg: Record<string, unknown>): void {
    this.mediaFrames++;
    const index = this.mediaFrames;
    const rate = this.host.rate;
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
    const raw = Buffer.from(payload, "base64");
    const bytes = raw.length;
    this.sizes[String(bytes)] = (this.sizes[String(bytes)] ?? 0) + 1;
    const mulaw = this.host.encoding === "mulaw";
    const unit = streamBytesPerMs(rate, this.host.encoding) * FRAME_UNIT_MS;
    // Exotel documents its byte rules for PCM16; for mu-law the same durations apply (100 ms minimum).
    const min = mulaw ? MIN_FRAME_BYTES / 4 : MIN_FRAME_BYTES;
    if (bytes % unit !== 0)
      this.violation(
        f.atMs,
        index,
        bytes,
        `payload ${bytes} bytes is not a multiple of ${unit} (20 ms at ${rate} Hz${mulaw ? " mu-law" : ""})`,
      );
    if (bytes < min) this.violation(f.atMs, index, bytes, `payload ${bytes} bytes is under ${min}`);
    if (bytes > MAX_FRAME_BYTES)
      this.violation(f.atMs, index, bytes, `payload ${bytes} bytes is over ${MAX_FRAME_BYTES}`);
    const whole = mulaw ? mulawDecode(raw) : raw.subarray(0, bytes & ~1);
    const ms = pcmMs(whole.length, rate);
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
      this.onsetArrivals.push(now);
      // Response latency from the caller's side: the end of its speech to the first agent audio received.
      const seg = [...this.host.segments].reverse().find((s) => s.endMs <= startMs);
      const latency = seg && this.isFirstOnsetAfter(seg, startMs) ? now - seg.endMs : undefined;
      this.host.emit({
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
    this.stopTimer = setTimeout(
      () => {
        this.stopTimer = null;
        const now = this.host.now();
        if (this.playing && now >= this.playEndMs - 1) {
          this.playing = false;
          this.host.emit({
            type: "agent_audio_stop",
            atMs: this.playEndMs,
            playedMs: this.playEndMs - this.playStartedMs,
          });
        } else if (this.playing) this.armStopTimer();
      },
      Math.max(0, this.playEndMs - this.host.now()),
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
    this.host.emit({ type: "clear", atMs: now, droppedMs: dropped, wasPlaying });
    if (wasPlaying || dropped > 0) {
      const seg = [...this.host.segments].reverse().find((s) => s.startMs <= now);
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
      if (this.host.marksOnClear === "echo") this.scheduleMarkEcho(m.name);
    }
  }

  private onMark(f: ReceivedFrame, msg: Record<string, unknown>): void {
    this.marksReceived++;
    const name = (msg.mark as { name?: unknown } | undefined)?.name;
    if (typeof name !== "string") {
      this.violation(f.atMs, 0, f.bytes, "mark.name missing or not a string");
      return;
    }
    this.host.emit({ type: "mark", atMs: f.atMs, name });
    this.scheduleMarkEcho(name);
  }

  private scheduleMarkEcho(name: string): void {
    const due = this.playEndMs;
    const echo = (): void => {
      const i = this.pendingMarks.findIndex((m) => m.name === name);
      if (i >= 0) this.pendingMarks.splice(i, 1);
      if (!this.host.canSend()) return;
      this.host.sendMarkEcho(name);
      this.marksEchoed++;
      this.host.emit({ type: "mark_echoed", atMs: this.host.now(), name });
    };
    const now = this.host.now();
    if (due <= now) {
      echo();
      return;
    }
    const timer = setTimeout(echo, due - now);
    this.pendingMarks.push({ name, dueMs: due, timer });
  }
}

/** `=` padding characters at the end of base64: its decoded length without decoding it. */
function padding(b64: string): number {
  if (b64.endsWith("==")) return 2;
  return b64.endsWith("=") ? 1 : 0;
}
