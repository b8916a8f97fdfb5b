/**
 * Re-frames agent audio (PCM16 at the stream rate) into payloads Exotel accepts
 * (docs/protocols/exotel.md, "Audio rules for what we send"):
 *   - every payload a whole number of 20 ms units (320 bytes at 8 kHz, 640 at 16 kHz, 960 at 24 kHz),
 *   - at least 3,200 bytes, at most 100 KB,
 *   - only the final frame of a response padded, with silence.
 * A payload off the unit grid leaves a short last packet Exotel still waits 20 ms for: audible gaps.
 */

export const EXOTEL_UNIT_MS = 20;
export const EXOTEL_MIN_FRAME_BYTES = 3200;
export const EXOTEL_MAX_FRAME_BYTES = 100_000;

export interface FramingRules {
  readonly sampleRate: number;
  /** Bytes in one 20 ms unit. */
  readonly unitBytes: number;
  readonly minFrameBytes: number;
  readonly maxFrameBytes: number;
  /** Size of the frames sent while audio keeps coming. */
  readonly targetFrameBytes: number;
  readonly bytesPerMs: number;
}

/**
 * `chunkBytesAt8k` is the original bridge's CHUNK_SIZE knob (bytes at 8 kHz); it is scaled to the
 * stream rate so the frame duration stays the same, then snapped onto the unit grid and clamped.
 */
export function framingRules(sampleRate: number, chunkBytesAt8k: number): FramingRules {
  const bytesPerMs = (sampleRate * 2) / 1000;
  const unitBytes = bytesPerMs * EXOTEL_UNIT_MS;
  const minFrameBytes = Math.ceil(EXOTEL_MIN_FRAME_BYTES / unitBytes) * unitBytes;
  const maxFrameBytes = Math.floor(EXOTEL_MAX_FRAME_BYTES / unitBytes) * unitBytes;
  const scaled = Math.round((chunkBytesAt8k * sampleRate) / 8000 / unitBytes) * unitBytes;
  const targetFrameBytes = Math.min(maxFrameBytes, Math.max(minFrameBytes, scaled));
  return { sampleRate, unitBytes, minFrameBytes, maxFrameBytes, targetFrameBytes, bytesPerMs };
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
    const frame = Buffer.alloc(size); // zero-filled: PCM16 silence
    this.buf.copy(frame, 0, this.start, this.end);
    this.start = this.end = 0;
    return frame;
  }

  /** Drops everything (barge-in). */
  clear(): void {
    this.start = this.end = 0;
  }
}
