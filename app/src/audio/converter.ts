/**
 * One direction of format conversion for one call: decode (G.711 mu-law or A-law -> PCM16), keep
 * sample alignment, resample, encode (PCM16 -> G.711). Built once per call and direction from the
 * negotiated formats; `createConverter` returns null when the formats already match, so the
 * caller can forward base64 untouched (the passthrough path: PCM16 at one rate, or a mu-law
 * stream to a `ulaw_8000` agent and back).
 */
import { alawToPcm16, pcm16ToAlaw } from "./alaw.js";
import { type AudioFormat, type Encoding, formatName, sameFormat } from "./formats.js";
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
    const pcm = decode(this.from.encoding, chunk, this.aligner);
    if (pcm.length === 0) return;
    const to = this.to.encoding;
    if (this.resampler === null) {
      sink(encode(to, pcm));
      return;
    }
    if (to === "pcm16") this.resampler.processInto(pcm, sink);
    else this.resampler.processInto(pcm, (out) => sink(encode(to, out)));
  }

  reset(): void {
    this.aligner.reset();
  }

  destroy(): void {
    this.resampler?.destroy();
  }
}

function decode(encoding: Encoding, chunk: Buffer, aligner: Pcm16Aligner): Buffer {
  if (encoding === "ulaw") return ulawToPcm16(chunk);
  if (encoding === "alaw") return alawToPcm16(chunk);
  return aligner.push(chunk);
}

function encode(encoding: Encoding, pcm: Buffer): Buffer {
  if (encoding === "ulaw") return pcm16ToUlaw(pcm);
  if (encoding === "alaw") return pcm16ToAlaw(pcm);
  return pcm;
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
