/**
 * Small audio helpers shared by the local stand-ins (local test agent, simulated Exotel caller):
 * an energy-based voice activity detector, one-shot rate conversion, tones and silence.
 *
 * Nothing here comes from the bridge (app/src): the stand-ins resample with `wave-resampler` and
 * encode mu-law with `alawmulaw`, so a bug in the bridge's own audio path cannot hide behind a
 * stand-in that shares it.
 */
import alawmulaw from "alawmulaw";
import waveResampler from "wave-resampler";

/** PCM16 LE -> G.711 mu-law, one byte per sample (an odd trailing byte is ignored). */
export function mulawEncode(pcm: Buffer): Buffer {
  const samples = new Int16Array(pcm.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = pcm.readInt16LE(i * 2);
  return Buffer.from(alawmulaw.mulaw.encode(samples));
}

/** G.711 mu-law -> PCM16 LE. */
export function mulawDecode(ulaw: Buffer): Buffer {
  const samples = alawmulaw.mulaw.decode(ulaw);
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i] as number, i * 2);
  return out;
}

/** PCM16 mono bytes per millisecond at `rate`. */
export function bytesPerMs(rate: number): number {
  return (rate * 2) / 1000;
}

/** Duration of PCM16 mono audio in ms. */
export function pcmMs(bytes: number, rate: number): number {
  return bytes / bytesPerMs(rate);
}

/** Byte count of `ms` of PCM16 mono at `rate`, rounded down to whole samples. */
export function msBytes(ms: number, rate: number): number {
  return Math.floor((ms * rate) / 1000) * 2;
}

export function silence(ms: number, rate: number): Buffer {
  return Buffer.alloc(msBytes(ms, rate));
}

/** A sine tone, PCM16 mono. `amplitude` is a fraction of full scale. */
export function tone(freqHz: number, ms: number, rate: number, amplitude = 0.5): Buffer {
  const n = msBytes(ms, rate) >> 1;
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    out.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * freqHz * i) / rate)), i * 2);
  }
  return out;
}

/** RMS level of PCM16 in dB relative to full scale (-Infinity for digital silence). */
export function rmsDb(pcm: Buffer, start = 0, end = pcm.length): number {
  let sum = 0;
  let n = 0;
  for (let i = start; i + 1 < end; i += 2) {
    const s = pcm.readInt16LE(i);
    sum += s * s;
    n++;
  }
  if (n === 0 || sum === 0) return Number.NEGATIVE_INFINITY;
  return 20 * Math.log10(Math.sqrt(sum / n) / 32768);
}

/**
 * Converts PCM16 mono from one rate to another in one go (whole prompts, whole WAV files), with
 * cubic interpolation behind a low-pass filter (about -64 dB of aliasing for a 6 kHz tone taken
 * from 16 to 8 kHz): plenty for test audio, and a different implementation from the bridge's.
 */
export function convertRate(pcm: Buffer, inRate: number, outRate: number): Buffer {
  if (inRate === outRate) return pcm;
  const n = pcm.length >> 1;
  const samples = new Int16Array(n);
  for (let i = 0; i < n; i++) samples[i] = pcm.readInt16LE(i * 2);
  const converted = waveResampler.resample(samples, inRate, outRate, { method: "cubic", LPF: true });
  const want = Math.round((n * outRate) / inRate);
  const out = Buffer.alloc(want * 2);
  for (let i = 0; i < want && i < converted.length; i++) {
    const v = Math.round(converted[i] as number);
    out.writeInt16LE(Math.max(-32768, Math.min(32767, v)), i * 2);
  }
  return out;
}

export interface VadOptions {
  /** Frame energy above this (dBFS) counts as speech. */
  readonly thresholdDb?: number;
  /** Speech must last this long before a start is reported. */
  readonly minSpeechMs?: number;
  /** Silence this long ends a speech segment. */
  readonly hangoverMs?: number;
}

export const VAD_DEFAULTS = { thresholdDb: -40, minSpeechMs: 80, hangoverMs: 600 } as const;

export type VadEvent =
  /** `atMs`: audio time of the first speech frame of the segment. */
  | { readonly type: "speech_start"; readonly atMs: number }
  /** `atMs`: audio time just after the last speech frame (hangover not included). */
  | { readonly type: "speech_end"; readonly atMs: number; readonly startMs: number };

const VAD_FRAME_MS = 20;

/**
 * Streaming energy-based voice activity detector on PCM16 mono: 20 ms frames, a dBFS threshold,
 * a minimum speech duration before "start" (clicks are not speech) and a hangover before "end"
 * (pauses between words are not the end of a turn). Times are audio time: ms of audio pushed so far.
 */
export class EnergyVad {
  private readonly frameBytes: number;
  private readonly opts: Required<VadOptions>;
  private carry: Buffer = Buffer.alloc(0);
  private frames = 0;
  private speaking = false;
  private runStartMs = -1;
  private lastSpeechEndMs = 0;
  private segmentStartMs = 0;

  constructor(
    readonly sampleRate: number,
    options: VadOptions = {},
  ) {
    this.opts = { ...VAD_DEFAULTS, ...options };
    this.frameBytes = msBytes(VAD_FRAME_MS, sampleRate);
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** Audio time consumed so far, ms. */
  get timeMs(): number {
    return this.frames * VAD_FRAME_MS;
  }

  push(pcm: Buffer): VadEvent[] {
    const events: VadEvent[] = [];
    let buf = this.carry.length > 0 ? Buffer.concat([this.carry, pcm]) : pcm;
    let off = 0;
    while (off + this.frameBytes <= buf.length) {
      const loud = rmsDb(buf, off, off + this.frameBytes) > this.opts.thresholdDb;
      const t0 = this.frames * VAD_FRAME_MS;
      const t1 = t0 + VAD_FRAME_MS;
      this.frames++;
      off += this.frameBytes;
      if (loud) {
        if (this.runStartMs < 0) this.runStartMs = t0;
        this.lastSpeechEndMs = t1;
        if (!this.speaking && t1 - this.runStartMs >= this.opts.minSpeechMs) {
          this.speaking = true;
          this.segmentStartMs = this.runStartMs;
          events.push({ type: "speech_start", atMs: this.runStartMs });
        }
      } else {
        if (!this.speaking) this.runStartMs = -1;
        else if (t1 - this.lastSpeechEndMs >= this.opts.hangoverMs) {
          this.speaking = false;
          this.runStartMs = -1;
          events.push({ type: "speech_end", atMs: this.lastSpeechEndMs, startMs: this.segmentStartMs });
        }
      }
    }
    buf = buf.subarray(off);
    this.carry = Buffer.from(buf);
    return events;
  }

  /** Ends an open segment at the end of the audio (end of a file). */
  finish(): VadEvent[] {
    if (!this.speaking) return [];
    this.speaking = false;
    return [{ type: "speech_end", atMs: this.lastSpeechEndMs, startMs: this.segmentStartMs }];
  }
}

/** Speech segments of a whole recording, ms from its start. */
export function speechSegments(
  pcm: Buffer,
  rate: number,
  options: VadOptions = {},
): Array<{ startMs: number; endMs: number }> {
  const vad = new EnergyVad(rate, options);
  const out: Array<{ startMs: number; endMs: number }> = [];
  for (const e of [...vad.push(pcm), ...vad.finish()]) {
    if (e.type === "speech_end") out.push({ startMs: e.startMs, endMs: e.atMs });
  }
  return out;
}

/**
 * Level of one frequency in a PCM16 window (Goertzel), as a fraction of full scale: about the
 * tone's amplitude for a pure tone, near 0 elsewhere. Used to find where a known tone lands.
 */
export function toneAmplitude(
  pcm: Buffer,
  rate: number,
  freqHz: number,
  start = 0,
  end = pcm.length,
): number {
  const n = (end - start) >> 1;
  if (n <= 0) return 0;
  const w = (2 * Math.PI * freqHz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = pcm.readInt16LE(start + i * 2) / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / n;
}
