/**
 * Re-frames agent audio (already in the stream's own encoding and rate) into payloads Exotel
 * accepts (docs/protocols.md, "Frame rules for what the bridge sends"):
 *   - every payload a whole number of 20 ms units (320 bytes of PCM16 at 8 kHz, 640 at 16 kHz,
 *     960 at 24 kHz),
 *   - at least 3,200 bytes, at most 100 KB,
 *   - only the final frame of a response padded, with silence.
 * A payload off the unit grid leaves a short last packet Exotel still waits 20 ms for: audible gaps.
 *
 * Mu-law streams: Exotel states the rules in bytes, measured on 8 kHz PCM16, and says nothing for
 * mu-law. The rules here satisfy both readings at once (bytes as written, and the same durations):
 * a multiple of 320 bytes (40 ms, so also on the 20 ms / 160-byte grid), at least 3,200 bytes, and
 * at most 49,920 bytes (the 6.25 s that 100 KB of PCM16 holds, snapped onto the grid).
 */
import {
  type AudioFormat,
  bytesPerSample,
  exotelFormat,
  isExotelSampleRate,
  silenceByte,
} from "./formats.js";

export const EXOTEL_UNIT_MS = 20;
export const EXOTEL_MIN_FRAME_BYTES = 3200;
export const EXOTEL_MAX_FRAME_BYTES = 100_000;
/** The byte grid Exotel states (20 ms of 8 kHz PCM16). */
export const EXOTEL_GRID_BYTES = 320;

export interface FramingRules {
  readonly sampleRate: number;
  /** Bytes in one unit: every frame is a whole number of these. */
  readonly unitBytes: number;
  readonly minFrameBytes: number;
  readonly maxFrameBytes: number;
  /** Size of the frames sent while audio keeps coming. */
  readonly targetFrameBytes: number;
  readonly bytesPerMs: number;
  /** The byte that pads the final frame: 0 for PCM16, 0xFF for mu-law. */
  readonly silenceByte: number;
}

/**
 * `chunkBytesAt8k` is the original bridge's CHUNK_SIZE knob (bytes of 8 kHz PCM16); it is scaled to
 * the stream's format so the frame duration stays the same, then snapped onto the unit grid and
 * clamped. `stream` is the stream's format, or (as before mu-law streams) its PCM16 sample rate.
 */
export function framingRules(stream: AudioFormat | number, chunkBytesAt8k: number): FramingRules {
  const format = typeof stream === "number" ? pcmFormat(stream) : stream;
  const { sampleRate } = format;
  const bytesPerMs = (sampleRate * bytesPerSample(format)) / 1000;
  const twentyMs = bytesPerMs * EXOTEL_UNIT_MS;
  const pcm = format.encoding === "pcm16";
  // 20 ms of PCM16 at 8/16/24 kHz is already a multiple of the stated 320-byte grid.
  const unitBytes = pcm ? twentyMs : lcm(twentyMs, EXOTEL_GRID_BYTES);
  const maxBytes = pcm ? EXOTEL_MAX_FRAME_BYTES : (EXOTEL_MAX_FRAME_BYTES / 16) * bytesPerMs;
  const minFrameBytes = Math.ceil(EXOTEL_MIN_FRAME_BYTES / unitBytes) * unitBytes;
  const maxFrameBytes = Math.floor(maxBytes / unitBytes) * unitBytes;
  const scaled = Math.round(((chunkBytesAt8k / 16) * bytesPerMs) / unitBytes) * unitBytes;
  const targetFrameBytes = Math.min(maxFrameBytes, Math.max(minFrameBytes, scaled));
  return {
    sampleRate,
    unitBytes,
    minFrameBytes,
    maxFrameBytes,
    targetFrameBytes,
    bytesPerMs,
    silenceByte: silenceByte(format),
  };
}

/** PCM16 at a rate; non-Exotel rates are allowed here (tests and tools frame any PCM16 rate). */
function pcmFormat(sampleRate: number): AudioFormat {
  return isExotelSampleRate(sampleRate) ? exotelFormat(sampleRate) : { encoding: "pcm16", sampleRate };
}

function lcm(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

/** True when `bytes` obeys Exotel's payload rules at these framing rules. */
export function isValidFrameSize(bytes: number, rules: FramingRules): boolean {
  return bytes % rules.unitBytes === 0 && bytes >= rules.minFrameBytes && bytes <= rules.maxFrameBytes;
}

/**
 * A byte queue that hands out rule-abiding frames. Storage is one contiguous buffer reused across
 * the call (compacted, grown by doubling), so steady-state framing allocates nothing.
 */
export class Framer {
  private buf: Buffer;
  private start = 0;
  private end = 0;

  constructor(readonly rules: FramingRules) {
    this.buf = Buffer.allocUnsafe(rules.targetFrameBytes * 2);
  }

  get bufferedBytes(): number {
    return this.end - this.start;
  }

  push(pcm: Buffer): void {
    const n = pcm.length;
    if (n === 0) return;
    this.reserve(n);
    pcm.copy(this.buf, this.end);
    this.end += n;
  }

  /** Appends the bytes of a base64 string, decoded straight into the queue (no intermediate buffer). */
  pushBase64(b64: string): void {
    if (b64.length === 0) return;
    const bound = (b64.length * 3) >> 2;
    this.reserve(bound);
    this.end += this.buf.write(b64, this.end, bound, "base64");
  }

  /** Makes room for `n` more bytes at the end: compacts, or grows by doubling. */
  private reserve(n: number): void {
    if (this.end + n > this.buf.length) {
      const live = this.end - this.start;
      if (live + n <= this.buf.length && this.start > 0) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        let size = this.buf.length;
        while (size < live + n) size *= 2;
        const next = Buffer.allocUnsafe(size);
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.start = 0;
      this.end = live;
    }
  }

  /** True when a full target-size frame is waiting. */
  get hasFullFrame(): boolean {
    return this.end - this.start >= this.rules.targetFrameBytes;
  }

  /**
   * Next full frame, or null. The returned view is valid only until the next push(): encode it
   * (base64) before handing control back.
   */
  takeFrame(): Buffer | null {
    const size = this.rules.targetFrameBytes;
    if (this.end - this.start < size) return null;
    const frame = this.buf.subarray(this.start, this.start + size);
    this.start += size;
    if (this.start === this.end) this.start = this.end = 0;
    return frame;
  }

  /**
   * Everything left, as one final frame padded with silence up to the unit grid and the minimum
   * size; null when empty. Used at the end of a response (idle agent) only.
   */
  takeFinal(): Buffer | null {
    const live = this.end - this.start;
    if (live === 0) return null;
    const { unitBytes, minFrameBytes, maxFrameBytes } = this.rules;
    if (live > maxFrameBytes) {
      // Cannot happen with target <= max and full frames drained first; keep the rule anyway.
      const frame = this.buf.subarray(this.start, this.start + maxFrameBytes);
      this.start += maxFrameBytes;
      return frame;
    }
    const size = Math.max(minFrameBytes, Math.ceil(live / unitBytes) * unitBytes);
    const frame = Buffer.alloc(size, this.rules.silenceByte);
    this.buf.copy(frame, 0, this.start, this.end);
    this.start = this.end = 0;
    return frame;
  }

  /** Drops everything (barge-in). */
  clear(): void {
    this.start = this.end = 0;
  }
}
