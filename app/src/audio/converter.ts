/**
 * One direction of format conversion for one call: decode (mu-law -> PCM16), keep sample
 * alignment, resample, encode (PCM16 -> mu-law). Built once per call and direction from the
 * negotiated formats; `createConverter` returns null when the formats already match, so the
 * caller can forward base64 untouched (the passthrough path).
 */
import { type AudioFormat, formatName, sameFormat } from "./formats.js";
import { pcm16ToUlaw, ulawToPcm16 } from "./mulaw.js";
import { Pcm16Aligner } from "./pcm16.js";
import { Resampler } from "./resampler.js";

export interface AudioConverter {
  readonly from: AudioFormat;
  readonly to: AudioFormat;
  /** Converts one chunk; may return an empty buffer while state fills. */
  convert(chunk: Buffer): Buffer;
  /**
   * Converts one chunk without copies where it can: `sink` gets the output in one or more pieces,
   * which may be views of shared memory valid only during the call (consume them at once).
   */
  convertInto(chunk: Buffer, sink: (out: Buffer) => void): void;
  /** Drops buffered partial samples (after a barge-in). Filter history is kept: it is only ~ms. */
  reset(): void;
  destroy(): void;
}

class PipelineConverter implements AudioConverter {
  private readonly aligner = new Pcm16Aligner();
  private readonly resampler: Resampler | null;

  constructor(
    readonly from: AudioFormat,
    readonly to: AudioFormat,
    quality: number,
  ) {
    this.resampler =
      from.sampleRate === to.sampleRate ? null : new Resampler(from.sampleRate, to.sampleRate, quality);
  }

  convert(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    this.convertInto(chunk, (out) => parts.push(Buffer.from(out)));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  convertInto(chunk: Buffer, sink: (out: Buffer) => void): void {
    const pcm = this.from.encoding === "ulaw" ? ulawToPcm16(chunk) : this.aligner.push(chunk);
    if (pcm.length === 0) return;
    if (this.resampler === null) {
      sink(this.to.encoding === "ulaw" ? pcm16ToUlaw(pcm) : pcm);
      return;
    }
    if (this.to.encoding === "ulaw") this.resampler.processInto(pcm, (out) => sink(pcm16ToUlaw(out)));
    else this.resampler.processInto(pcm, sink);
  }

  reset(): void {
    this.aligner.reset();
  }

  destroy(): void {
    this.resampler?.destroy();
  }
}

/** null when no conversion is needed. */
export function createConverter(from: AudioFormat, to: AudioFormat, quality: number): AudioConverter | null {
  if (sameFormat(from, to)) return null;
  return new PipelineConverter(from, to, quality);
}

export function describeConversion(from: AudioFormat, to: AudioFormat): string {
  return sameFormat(from, to)
    ? `${formatName(from)} passthrough`
    : `${formatName(from)} -> ${formatName(to)}`;
}
