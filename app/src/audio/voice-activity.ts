/**
 * Where the caller stops speaking, from the caller audio the bridge already relays: a streaming
 * energy detector with a hangover. Response latency is measured from the end it finds
 * (telemetry.ts), so the number is what the caller hears: their silence until the agent answers.
 *
 * The audio is cut into 20 ms blocks (sample counts, not byte positions, so frames of any size
 * and split samples are fine). A block is voiced when its RMS level is above `thresholdDb` dBFS.
 * Speech starts after `minSpeechMs` of voiced blocks in a row (a click or a cough is not a turn);
 * it ends `hangoverMs` after the last voiced block (pauses between words are not the end), and the
 * end is placed just after that last voiced block, not after the hangover.
 *
 * Defaults, and why:
 *   thresholdDb  -40 dBFS  Speech on a phone line sits around -25..-10 dBFS; a digital trunk's
 *                          idle noise is far below -50. -40 sits between with margin both ways.
 *   minSpeechMs   60 ms    Three blocks: shorter bursts are line clicks, not words.
 *   hangoverMs   600 ms    Longer than the pause between two words or sentences of one turn
 *                          (about 0.4 s in the shipped fixtures).
 *
 * No allocation after construction: push() reads the bytes where they lie (a hand-written loop,
 * because no library streams a per-block RMS without copying). Pure: no clock, no I/O; time is
 * audio time, milliseconds of audio pushed so far.
 */
import alawmulaw from "alawmulaw";

export interface VoiceActivityOptions {
  /** A 20 ms block above this RMS level (dBFS) is voiced. */
  readonly thresholdDb?: number;
  /** Voiced blocks in a row needed before speech starts. */
  readonly minSpeechMs?: number;
  /** Unvoiced time after the last voiced block that ends the speech. */
  readonly hangoverMs?: number;
}

export const VOICE_ACTIVITY_DEFAULTS: Required<VoiceActivityOptions> = {
  thresholdDb: -40,
  minSpeechMs: 60,
  hangoverMs: 600,
};

/** The payload bytes: PCM16 LE, or G.711 mu-law (one byte a sample). */
export type VoiceEncoding = "pcm16" | "ulaw";

/** What a push changed (a bit set; both can happen in one push). */
export const SPEECH_STARTED = 1;
export const SPEECH_ENDED = 2;

const BLOCK_MS = 20;

/** mu-law byte -> linear sample, once, from the codec library. */
const ULAW_TO_LINEAR = new Int16Array(256);
for (let i = 0; i < 256; i++) ULAW_TO_LINEAR[i] = alawmulaw.mulaw.decodeSample(i);

export class VoiceActivity {
  private rate = 8000;
  private encoding: VoiceEncoding = "pcm16";
  private blockSamples = 160;
  private thresholdPower = 0;
  private readonly minSpeechBlocks: number;
  private readonly hangoverBlocks: number;
  /** Samples consumed since the start. */
  private samples = 0;
  private blockSum = 0;
  private blockFill = 0;
  /** A PCM16 byte waiting for its other half (-1: none). */
  private carry = -1;
  private blocks = 0;
  private voicedRun = 0;
  private unvoicedRun = 0;
  private inSpeech = false;
  /** Audio time (ms) just after the last voiced block of the current or last speech; -1 before any. */
  lastVoiceEndMs = -1;
  /** Audio time (ms) the current or last speech started; -1 before any. */
  speechStartMs = -1;

  constructor(options: VoiceActivityOptions = {}) {
    const o = { ...VOICE_ACTIVITY_DEFAULTS, ...options };
    const amplitude = 10 ** (o.thresholdDb / 20) * 32768;
    this.thresholdPower = amplitude * amplitude;
    this.minSpeechBlocks = Math.max(1, Math.ceil(o.minSpeechMs / BLOCK_MS));
    this.hangoverBlocks = Math.max(1, Math.ceil(o.hangoverMs / BLOCK_MS));
  }

  /** The stream's format, before its first audio (Exotel's `start`). */
  setFormat(sampleRate: number, encoding: VoiceEncoding): void {
    this.rate = sampleRate;
    this.encoding = encoding;
    this.blockSamples = Math.max(1, Math.round((sampleRate * BLOCK_MS) / 1000));
  }

  /** In speech now (the hangover included). */
  get speaking(): boolean {
    return this.inSpeech;
  }

  /** Audio time pushed so far, ms. */
  get audioMs(): number {
    return (this.samples * 1000) / this.rate;
  }

  /**
   * One payload of stream audio; returns SPEECH_STARTED | SPEECH_ENDED for what it changed.
   * Runs on every caller frame, so the per-sample work stays in locals (the block's running sum
   * and fill) and only a finished block touches the object: a method call per sample cost as
   * much as parsing the frame.
   */
  push(bytes: Uint8Array): number {
    let changed = 0;
    const n = bytes.length;
    const bs = this.blockSamples;
    let sum = this.blockSum;
    let fill = this.blockFill;
    let i = 0;
    if (this.encoding === "ulaw") {
      for (; i < n; i++) {
        const s = ULAW_TO_LINEAR[bytes[i] as number] as number;
        sum += s * s;
        if (++fill === bs) {
          changed |= this.finishBlock(sum, fill);
          sum = 0;
          fill = 0;
        }
      }
      this.samples += n;
      this.blockSum = sum;
      this.blockFill = fill;
      return changed;
    }
    let count = 0;
    if (this.carry >= 0 && n > 0) {
      const s = ((((bytes[0] as number) << 8) | this.carry) << 16) >> 16;
      this.carry = -1;
      i = 1;
      count++;
      sum += s * s;
      if (++fill === bs) {
        changed |= this.finishBlock(sum, fill);
        sum = 0;
        fill = 0;
      }
    }
    const end = n - ((n - i) & 1);
    count += (end - i) >> 1;
    for (; i < end; i += 2) {
      const s = ((((bytes[i + 1] as number) << 8) | (bytes[i] as number)) << 16) >> 16;
      sum += s * s;
      if (++fill === bs) {
        changed |= this.finishBlock(sum, fill);
        sum = 0;
        fill = 0;
      }
    }
    if (end < n) this.carry = bytes[end] as number;
    this.samples += count;
    this.blockSum = sum;
    this.blockFill = fill;
    return changed;
  }

  private finishBlock(sum: number, fill: number): number {
    this.blocks++;
    return this.block(sum > this.thresholdPower * fill);
  }

  /** One finished block; `blocks` already counts it. */
  private block(voiced: boolean): number {
    const endMs = this.blocks * BLOCK_MS;
    if (voiced) {
      this.unvoicedRun = 0;
      this.voicedRun++;
      if (this.inSpeech) {
        this.lastVoiceEndMs = endMs;
        return 0;
      }
      if (this.voicedRun < this.minSpeechBlocks) return 0;
      this.inSpeech = true;
      this.speechStartMs = endMs - this.voicedRun * BLOCK_MS;
      this.lastVoiceEndMs = endMs;
      return SPEECH_STARTED;
    }
    this.voicedRun = 0;
    if (!this.inSpeech) return 0;
    if (++this.unvoicedRun < this.hangoverBlocks) return 0;
    this.inSpeech = false;
    this.unvoicedRun = 0;
    return SPEECH_ENDED;
  }
}
