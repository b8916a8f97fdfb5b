/**
 * Agent -> caller audio for one call: decode and convert to the stream's format, re-frame onto
 * Exotel's grid (audio/framer.ts), pace against the playout clock so at most `leadMs` is queued
 * at Exotel, pad and flush the tail when the agent goes quiet, mark the end of each response,
 * and on barge-in drop everything of the interrupted response (including its late chunks).
 *
 * No sockets and no timers here: the Call drives `pump(now)` from the shared ticker and hands
 * the frames to Exotel through the sink.
 */
import { type AudioConverter, createConverter } from "../audio/converter.js";
import { type AudioFormat, type ExotelSampleRate, exotelFormat } from "../audio/formats.js";
import { Framer, type FramingRules, framingRules } from "../audio/framer.js";
import { decodeBase64Transient } from "../audio/pcm16.js";
import { PlayoutClock } from "../audio/playout-clock.js";

export interface PlayoutSink {
  /**
   * The Exotel stream's format (final once `start` has arrived): what `media` payloads are in.
   * Absent: PCM16 at the call's sample rate.
   */
  readonly streamFormat?: AudioFormat;
  /**
   * A rule-abiding frame for Exotel in the stream's encoding, `ms` long, starting to play at
   * `playAt` (call clock).
   */
  media(payload: Buffer, ms: number, playAt: number, now: number): void;
  mark(name: string): void;
  clear(): void;
}

export interface PlayoutOptions {
  /** Most audio queued at Exotel ahead of real time. */
  readonly leadMs: number;
  /** Agent quiet this long = end of response: the padded tail goes out. */
  readonly tailFlushMs: number;
  /** CHUNK_SIZE: target frame in bytes at 8 kHz. */
  readonly chunkBytesAt8k: number;
  readonly resamplerQuality: number;
}

export type PushResult = "queued" | "late" | "empty";

/**
 * The padded tail waits until Exotel is about to run dry (this much audio left, a few ticks of
 * margin): while Exotel still has audio to play, the agent's next chunk may yet arrive and join the
 * tail seamlessly, and padding it early would put silence in the middle of a sentence.
 */
const TAIL_LOW_WATER_MS = 60;
/** A mark not echoed this long after its audio should have played is forgotten (Exotel may not echo). */
const MARK_FORGET_MS = 30_000;

export class AgentPlayout {
  private rules: FramingRules;
  private framer: Framer;
  private frameMs: number;
  private stream: AudioFormat;
  private readonly clock = new PlayoutClock();
  private converter: AudioConverter | null = null;
  private interruptedUpTo = -1;
  private framesSinceMark = 0;
  private markSeq = 0;
  private readonly pendingMarks = new Map<string, number>();
  /** Monotonic time of the last agent audio chunk (-Infinity before any). */
  lastAudioAt = Number.NEGATIVE_INFINITY;
  /** event_id of the response currently arriving. */
  currentEventId = -1;
  /** When set, the tail is flushed without waiting for the agent to go quiet (the call is ending). */
  draining = false;
  lateChunksDropped = 0;
  marksSent = 0;
  marksEchoed = 0;

  constructor(
    stream: AudioFormat | ExotelSampleRate,
    private readonly options: PlayoutOptions,
    private readonly sink: PlayoutSink,
  ) {
    this.stream = typeof stream === "number" ? exotelFormat(stream) : stream;
    this.rules = framingRules(this.stream, options.chunkBytesAt8k);
    this.framer = new Framer(this.rules);
    this.frameMs = this.rules.targetFrameBytes / this.rules.bytesPerMs;
  }

  /** Before any audio: the stream's format as `start` finally set it (rate and encoding). */
  setStreamFormat(stream: AudioFormat): void {
    if (stream === this.stream) return;
    this.stream = stream;
    this.rules = framingRules(stream, this.options.chunkBytesAt8k);
    this.framer = new Framer(this.rules);
    this.frameMs = this.rules.targetFrameBytes / this.rules.bytesPerMs;
  }

  /**
   * From conversation metadata; null converter = the agent already speaks the stream's format
   * (PCM16 at the stream rate, or `ulaw_8000` on a mu-law stream: bytes go out untouched).
   */
  setAgentFormat(output: AudioFormat): void {
    this.converter?.destroy();
    this.converter = createConverter(output, this.stream, this.options.resamplerQuality);
  }

  /** Takes one agent audio chunk; `late` when it belongs to a response the caller interrupted. */
  push(audioBase64: string, eventId: number, now: number): PushResult {
    if (eventId <= this.interruptedUpTo) {
      this.lateChunksDropped++;
      return "late";
    }
    this.currentEventId = eventId;
    const before = this.framer.bufferedBytes;
    if (this.converter === null) {
      // Same format as the stream: decoded straight into the framer. The framer is a byte queue,
      // so a sample split across two chunks is whole again there.
      this.framer.pushBase64(audioBase64);
    } else {
      this.converter.convertInto(decodeBase64Transient(audioBase64), this.pushPcm);
    }
    if (this.framer.bufferedBytes === before) return "empty";
    this.lastAudioAt = now;
    return "queued";
  }

  private readonly pushPcm = (pcm: Buffer): void => {
    this.framer.push(pcm);
  };

  /**
   * Barge-in: everything of responses up to `eventId` is dropped, here and at Exotel (the caller
   * must send `clear`, which the sink does). Returns what was cut, for the logs.
   */
  interrupt(eventId: number, now: number): { cutQueuedMs: number; droppedBufferedMs: number } {
    if (eventId > this.interruptedUpTo) this.interruptedUpTo = eventId;
    const cutQueuedMs = this.clock.clear(now);
    const droppedBufferedMs = this.framer.bufferedBytes / this.rules.bytesPerMs;
    this.framer.clear();
    this.converter?.reset();
    this.framesSinceMark = 0;
    this.pendingMarks.clear();
    this.sink.clear();
    return { cutQueuedMs, droppedBufferedMs };
  }

  /**
   * Sends what pacing allows at `now`: full frames while they fit under the lead, then, once the
   * agent has been quiet for `tailFlushMs` and Exotel is about to run out of audio (or the call is
   * ending), the padded tail and a mark.
   * Returns true while anything is still waiting (the caller keeps it on the ticker).
   */
  pump(now: number): boolean {
    const { leadMs, tailFlushMs } = this.options;
    const framer = this.framer;
    while (framer.hasFullFrame && this.clock.hasRoom(this.frameMs, leadMs, now)) {
      this.sendFrame(framer.takeFrame() as Buffer, this.frameMs, now);
    }
    const endOfResponse =
      now - this.lastAudioAt >= tailFlushMs && this.clock.queuedMs(now) <= TAIL_LOW_WATER_MS;
    if (!framer.hasFullFrame && (this.draining || endOfResponse)) {
      const left = framer.bufferedBytes;
      if (left > 0) {
        const { minFrameBytes, unitBytes, bytesPerMs } = this.rules;
        const tailMs = Math.max(minFrameBytes, Math.ceil(left / unitBytes) * unitBytes) / bytesPerMs;
        if (this.draining || this.clock.hasRoom(tailMs, leadMs, now)) {
          this.sendFrame(framer.takeFinal() as Buffer, tailMs, now);
        }
      }
      if (framer.bufferedBytes === 0 && this.framesSinceMark > 0) this.sendMark(now);
    }
    return framer.bufferedBytes > 0 || this.framesSinceMark > 0;
  }

  private sendFrame(pcm: Buffer, ms: number, now: number): void {
    const playEnd = this.clock.enqueue(ms, now);
    this.framesSinceMark++;
    this.sink.media(pcm, ms, playEnd - ms, now);
  }

  /** End of a response segment: Exotel echoes the mark once the caller has heard it all. */
  private sendMark(now: number): void {
    const name = `r${this.currentEventId}-${++this.markSeq}`;
    for (const [old, playEnd] of this.pendingMarks) {
      if (playEnd < now - MARK_FORGET_MS) this.pendingMarks.delete(old);
    }
    this.pendingMarks.set(name, this.clock.queuedMs(now) + now);
    this.framesSinceMark = 0;
    this.marksSent++;
    this.sink.mark(name);
  }

  /** An echoed mark; false when it is not one of ours (or was cut by a barge-in). */
  markPlayed(name: string): boolean {
    if (!this.pendingMarks.delete(name)) return false;
    this.marksEchoed++;
    return true;
  }

  get hasPendingMarks(): boolean {
    return this.pendingMarks.size > 0;
  }

  get bufferedBytes(): number {
    return this.framer.bufferedBytes;
  }

  get bufferedMs(): number {
    return this.framer.bufferedBytes / this.rules.bytesPerMs;
  }

  queuedMs(now: number): number {
    return this.clock.queuedMs(now);
  }

  /** Nothing buffered, nothing queued at Exotel, and the agent quiet for `quietMs`. */
  isIdle(now: number, quietMs: number): boolean {
    return (
      this.framer.bufferedBytes === 0 && this.clock.queuedMs(now) === 0 && now - this.lastAudioAt >= quietMs
    );
  }

  heardMs(now: number): number {
    return this.clock.heardMs(now);
  }

  get clearedMs(): number {
    return this.clock.clearedMs;
  }

  destroy(): void {
    this.converter?.destroy();
    this.converter = null;
    this.framer.clear();
    this.pendingMarks.clear();
  }
}
