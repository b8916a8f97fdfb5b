/** Small PCM16 LE helpers. Pure apart from the carry byte an aligner keeps between chunks. */

/**
 * Keeps PCM16 sample alignment across chunks whose byte length is odd (a peer may split a
 * sample between two messages). Returns only whole samples; the odd byte waits for the next chunk.
 */
export class Pcm16Aligner {
  private carry: number = -1;

  push(chunk: Buffer): Buffer {
    if (this.carry < 0) {
      if ((chunk.length & 1) === 0) return chunk;
      this.carry = chunk[chunk.length - 1] as number;
      return chunk.subarray(0, chunk.length - 1);
    }
    if (chunk.length === 0) return chunk;
    const total = chunk.length + 1;
    const even = total & ~1;
    const out = Buffer.allocUnsafe(even);
    out[0] = this.carry;
    chunk.copy(out, 1, 0, even - 1);
    this.carry = even < total ? (chunk[chunk.length - 1] as number) : -1;
    return out;
  }

  /** True when half a sample is waiting. */
  get pending(): boolean {
    return this.carry >= 0;
  }

  reset(): void {
    this.carry = -1;
  }
}

/**
 * An Int16Array view of a PCM16 LE buffer, copying only when the buffer is not 2-byte aligned in
 * memory (Buffer pool slices can start at odd offsets, and typed-array views cannot).
 */
export function int16View(buf: Buffer): Int16Array {
  if ((buf.byteOffset & 1) === 0) return new Int16Array(buf.buffer, buf.byteOffset, buf.length >> 1);
  const copy = new Int16Array(buf.length >> 1);
  Buffer.from(copy.buffer).set(buf.subarray(0, copy.length * 2));
  return copy;
}

export function int16ToBuffer(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Decoded byte length of a base64 string without decoding it. */
export function base64DecodedLength(b64: string): number {
  const n = b64.length;
  if (n === 0) return 0;
  let pad = 0;
  if (b64.charCodeAt(n - 1) === 61 /* = */) pad = b64.charCodeAt(n - 2) === 61 ? 2 : 1;
  return Math.floor((n * 3) / 4) - pad;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 check (length multiple of 4, canonical alphabet). Buffer.from() silently skips junk. */
export function isStrictBase64(b64: string): boolean {
  return (b64.length & 3) === 0 && BASE64_RE.test(b64);
}
