/**
 * Places a call's two audio streams on one time axis, as the caller heard them, and hands out the
 * finished part as interleaved stereo PCM16 (caller left, agent right) so that a recording can be
 * streamed to disk instead of held in memory. Pure: no I/O, no clock of its own.
 *
 * - Caller audio is continuous (Exotel streams silence too), so chunks are laid end to end; only a
 *   real gap (a chunk arriving more than GAP_MS later than the audio so far accounts for) is filled
 *   with silence. The audio buffered while the agent connected arrives in one burst and is laid end
 *   to end from the start, where it belongs.
 * - Agent audio is placed at the time it starts playing (the bridge's playout clock), so pauses
 *   between responses are where the caller heard them.
 * - A barge-in `cleared(at)` erases agent audio scheduled after `at`: it was never played.
 * - Audio before "now" can no longer change, so it is released (`take`) as the call goes on; at most
 *   the playout lead plus one caller chunk stays in memory.
 */

/** A caller chunk arriving this much later than expected means Exotel really paused the stream. */
const GAP_MS = 500;
/** Hard bound on the unreleased window (agent audio scheduled far ahead is a bug; it is dropped). */
const MAX_WINDOW_MS = 120_000;

export class StereoTimeline {
  /** Absolute sample index up to which stereo audio has been released. */
  private released = 0;
  /** Window of unreleased samples, starting at `released`. */
  private left: Int16Array;
  private right: Int16Array;
  /** Absolute index where the next caller sample goes. */
  private callerPos = 0;
  /** Absolute index after the last agent sample still scheduled. */
  private agentEnd = 0;
  /** Latest "now" seen, as an absolute sample index. */
  private nowSample = 0;
  private readonly perMs: number;
  private readonly maxWindow: number;

  constructor(
    readonly sampleRate: number,
    /** Call clock value (ms) that is sample 0. */
    private readonly t0: number,
  ) {
    this.perMs = sampleRate / 1000;
    this.maxWindow = Math.round(MAX_WINDOW_MS * this.perMs);
    this.left = new Int16Array(sampleRate);
    this.right = new Int16Array(sampleRate);
  }

  /** Samples released so far (the recording's length when finished). */
  get releasedSamples(): number {
    return this.released;
  }

  private at(ms: number): number {
    return Math.max(0, Math.round((ms - this.t0) * this.perMs));
  }

  private advanceNow(ms: number): void {
    const s = this.at(ms);
    if (s > this.nowSample) this.nowSample = s;
  }

  /** Makes room for absolute index `end` in the window; false when beyond the bound. */
  private ensure(end: number): boolean {
    const need = end - this.released;
    if (need > this.maxWindow) return false;
    if (need > this.left.length) {
      let size = this.left.length;
      while (size < need) size *= 2;
      const l = new Int16Array(size);
      const r = new Int16Array(size);
      l.set(this.left);
      r.set(this.right);
      this.left = l;
      this.right = r;
    }
    return true;
  }

  /** Caller PCM16 (mono, this rate) that arrived at call-clock `atMs`. */
  caller(pcm: Buffer, atMs: number): void {
    this.advanceNow(atMs);
    const n = pcm.length >> 1;
    if (n === 0) return;
    const naturalStart = this.at(atMs) - n;
    if (naturalStart > this.callerPos + GAP_MS * this.perMs) this.callerPos = naturalStart;
    if (!this.ensure(this.callerPos + n)) return;
    const base = this.callerPos - this.released;
    for (let i = 0; i < n; i++) this.left[base + i] = pcm.readInt16LE(i * 2);
    this.callerPos += n;
  }

  /** Agent PCM16 that starts playing at call-clock `playAtMs`. */
  agent(pcm: Buffer, playAtMs: number): void {
    let n = pcm.length >> 1;
    let start = this.at(playAtMs);
    let skip = 0;
    if (start < this.released) {
      skip = this.released - start;
      start = this.released;
      n -= skip;
    }
    if (n <= 0 || !this.ensure(start + n)) return;
    const base = start - this.released;
    for (let i = 0; i < n; i++) this.right[base + i] = pcm.readInt16LE((skip + i) * 2);
    if (start + n > this.agentEnd) this.agentEnd = start + n;
  }

  /** Barge-in at call-clock `atMs`: agent audio scheduled from then on was never heard. */
  cleared(atMs: number): void {
    this.advanceNow(atMs);
    const cut = Math.max(this.released, this.at(atMs));
    if (cut < this.agentEnd) {
      this.right.fill(0, cut - this.released, this.agentEnd - this.released);
      this.agentEnd = cut;
    }
  }

  /** Interleaved stereo that can no longer change (up to now and up to the caller audio so far). */
  take(): Buffer {
    return this.release(Math.min(this.callerPos, this.nowSample));
  }

  /** Everything left, at the end of the call. */
  takeAll(): Buffer {
    return this.release(Math.max(this.callerPos, this.agentEnd));
  }

  private release(upTo: number): Buffer {
    const n = upTo - this.released;
    if (n <= 0) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(n * 4);
    for (let i = 0; i < n; i++) {
      out.writeInt16LE(this.left[i] as number, i * 4);
      out.writeInt16LE(this.right[i] as number, i * 4 + 2);
    }
    // Slide the window: keep what is still open at the front, zero the rest.
    const keep = Math.max(this.callerPos, this.agentEnd) - upTo;
    if (keep > 0) {
      this.left.copyWithin(0, n, n + keep);
      this.right.copyWithin(0, n, n + keep);
      this.left.fill(0, keep, n + keep);
      this.right.fill(0, keep, n + keep);
    } else {
      this.left.fill(0, 0, Math.min(this.left.length, n));
      this.right.fill(0, 0, Math.min(this.right.length, n));
    }
    this.released = upTo;
    return out;
  }
}

/** 44-byte RIFF/WAVE header for PCM16. */
export function wavHeader(dataBytes: number, sampleRate: number, channels: number): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVE", 8, "ascii");
  h.write("fmt ", 12, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
