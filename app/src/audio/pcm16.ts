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

/**
 * The last string found strict. Each Exotel payload is checked where the parser cuts it out of its
 * frame and again, as the same string object, where the call accepts it: the second check is one
 * comparison. (Equal content also hits, and is equally valid.)
 */
let lastStrict: string | null = null;
/** Bytes of `lastStrict` sitting decoded in `scratch`. */
let lastStrictBytes = 0;
/** Where isStrictBase64 decodes; grows to the largest payload seen. */
let scratch = Buffer.allocUnsafe(8192);

/**
 * Strict base64 check (length multiple of 4, canonical alphabet, `=` only as the last one or two
 * characters). Buffer.from() silently skips junk, so the check is needed before trusting a payload.
 *
 * Done with the native decoder rather than a regex (about a fifth of the cost): the decoder skips
 * every character outside its alphabet and stops at the first `=`, so any such character makes the
 * output shorter than the length the string claims, and a strict string decodes to exactly that
 * length. Two gaps are closed first: the decoder also takes base64url's `-` and `_`, and it reads
 * only the low byte of a character above U+00FF ("Ł" decodes as "A"), so strings holding either
 * or any non-ASCII character (their UTF-8 length gives them away) are refused up front.
 */
export function isStrictBase64(b64: string): boolean {
  if (b64 === lastStrict) return true;
  const n = b64.length;
  if ((n & 3) !== 0) return false;
  if (Buffer.byteLength(b64, "utf8") !== n || b64.indexOf("-") >= 0 || b64.indexOf("_") >= 0) return false;
  const expected = base64DecodedLength(b64);
  if (scratch.length < expected) scratch = Buffer.allocUnsafe(expected);
  lastStrict = null;
  if (scratch.write(b64, 0, "base64") !== expected) return false;
  lastStrict = b64;
  lastStrictBytes = expected;
  return true;
}

/**
 * The bytes of `b64`, decoded into a buffer shared by the whole process and valid only until the
 * next call here or to isStrictBase64: for work that consumes them at once (a resampler, a copy).
 * When `b64` is the string isStrictBase64 just checked, its decode is reused: a caller frame on
 * the converting path is decoded once, not twice.
 */
export function decodeBase64Transient(b64: string): Buffer {
  if (b64 === lastStrict) return scratch.subarray(0, lastStrictBytes);
  const bound = (b64.length * 3) >> 2;
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(bound);
  lastStrict = null;
  return scratch.subarray(0, scratch.write(b64, 0, "base64"));
}
