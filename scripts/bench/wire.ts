/**
 * Wire helpers for the load generator: the exact frames both protocols put on the wire, built
 * once and reused, and allocation-free readers for the frames we receive (a base64 payload is
 * measured and spot-decoded in place, never JSON-parsed or fully decoded).
 *
 * Protocol reference: docs/protocols.md.
 */

/** Caller frames are 100 ms of PCM16 at the Exotel stream rate (Exotel's usual size). */
export const CALLER_FRAME_MS = 100;
/** The agent speaks in bursts of this much audio, one burst per this many ms of wall time. */
export const AGENT_BURST_MS = 250;
/** The agent pings each conversation this often. */
export const AGENT_PING_MS = 2000;
/** Distinct caller-frame contents; frame k carries level(k % MARKER_LEVELS). */
export const MARKER_LEVELS = 250;

/** Exotel payload rules (exotel.md, "Audio rules for what we send"). */
export const EXOTEL_UNIT_MS = 20;
export const EXOTEL_MIN_FRAME_BYTES = 3200;
export const EXOTEL_MAX_FRAME_BYTES = 100_000;

export function bytesPerMs(rate: number): number {
  return (rate * 2) / 1000;
}

/**
 * The constant sample value of caller frame k. Resampling smears a value step over a few ms at
 * the frame edges but keeps the middle of each 100 ms frame flat, so the middle sample of any
 * chunk the agent receives tells which caller frame it came from (order check without markers).
 */
export function markerLevel(k: number): number {
  return (k % MARKER_LEVELS) * 200 - 25_000;
}

/** PCM16 LE mono, `ms` long at `rate`, every sample `value`. */
export function constantPcm(value: number, ms: number, rate: number): Buffer {
  const n = (rate * ms) / 1000;
  const out = Buffer.allocUnsafe(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(value, i * 2);
  return out;
}

/** A 440 Hz tone that never holds zero for two samples in a row, so padding stays recognisable. */
export function tonePcm(ms: number, rate: number): Buffer {
  const n = (rate * ms) / 1000;
  const out = Buffer.allocUnsafe(n * 2);
  for (let i = 0; i < n; i++) {
    const s = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    out.writeInt16LE(s === 0 ? 1 : s, i * 2);
  }
  return out;
}

// ---------------------------------------------------------------- Exotel frames (caller side)

export function exotelConnected(): string {
  return '{"event":"connected","protocol":"Call","version":"1.0.0"}';
}

export function exotelStart(streamSid: string, callSid: string, rate: number): string {
  return JSON.stringify({
    event: "start",
    sequence_number: "1",
    stream_sid: streamSid,
    start: {
      stream_sid: streamSid,
      call_sid: callSid,
      account_sid: "ACbench",
      from: "+919800000000",
      to: "+918000000000",
      custom_parameters: {},
      media_format: { encoding: "audio/x-raw", sample_rate: String(rate), bit_rate: "128kbps" },
    },
  });
}

/**
 * One caller media frame, as Exotel sends it (numbers as strings): head + tail. The load generator
 * keeps each tail (the payload, shared by many frames) as bytes and writes only the head per frame.
 */
export function exotelMedia(
  streamSid: string,
  seq: number,
  chunk: number,
  tsMs: number,
  b64: string,
): string {
  return exotelMediaHead(streamSid, seq, chunk, tsMs) + exotelMediaTail(b64);
}

export function exotelMediaHead(streamSid: string, seq: number, chunk: number, tsMs: number): string {
  return `{"event":"media","sequence_number":"${seq}","stream_sid":"${streamSid}","media":{"chunk":"${chunk}","timestamp":"${tsMs}",`;
}

export function exotelMediaTail(b64: string): string {
  return `"payload":"${b64}"}}`;
}

export function exotelMark(streamSid: string, seq: number, name: string): string {
  return JSON.stringify({
    event: "mark",
    sequence_number: String(seq),
    stream_sid: streamSid,
    mark: { name },
  });
}

export function exotelStop(streamSid: string, callSid: string, seq: number): string {
  return `{"event":"stop","sequence_number":"${seq}","stream_sid":"${streamSid}","stop":{"call_sid":"${callSid}","account_sid":"ACbench","reason":"callended"}}`;
}

// ---------------------------------------------------------------- agent frames (agent side)

export function agentMetadata(conversationId: string, output: string, input: string): string {
  return JSON.stringify({
    type: "conversation_initiation_metadata",
    conversation_initiation_metadata_event: {
      conversation_id: conversationId,
      agent_output_audio_format: output,
      user_input_audio_format: input,
    },
  });
}

export function agentAudio(b64: string, eventId: number): string {
  return `{"type":"audio","audio_event":{"audio_base_64":"${b64}","event_id":${eventId}}}`;
}

export function agentPing(eventId: number): string {
  return `{"type":"ping","ping_event":{"event_id":${eventId},"ping_ms":null}}`;
}

// ---------------------------------------------------------------- readers

const B64_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_VALUE["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;
}
const EQ = 61; // '='
const QUOTE = 34; // '"'
const LETTER_A = 65; // 'A', base64 of zero bits
const SCRATCH = new Uint8Array(6);

/** Decoded byte length of the base64 text in `buf[start, end)`. */
export function b64Length(buf: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n <= 0) return 0;
  let pad = 0;
  if (buf[end - 1] === EQ) pad = buf[end - 2] === EQ ? 2 : 1;
  return ((n * 3) >> 2) - pad;
}

/**
 * The PCM16 LE sample at decoded byte offset `byteOffset` (even) of the base64 text starting at
 * `start`, decoded from the 8 characters around it; NaN when the text is not base64 there.
 */
export function b64SampleAt(buf: Buffer, start: number, byteOffset: number): number {
  const group = Math.floor(byteOffset / 3);
  let at = start + group * 4;
  let acc = 0;
  const bytes = SCRATCH;
  for (let g = 0; g < 2; g++) {
    acc = 0;
    for (let i = 0; i < 4; i++) {
      const c = buf[at++] as number;
      const v = c === EQ ? 0 : (B64_VALUE[c] as number);
      if (v < 0) return Number.NaN;
      acc = (acc << 6) | v;
    }
    bytes[g * 3] = (acc >> 16) & 0xff;
    bytes[g * 3 + 1] = (acc >> 8) & 0xff;
    bytes[g * 3 + 2] = acc & 0xff;
  }
  const i = byteOffset - group * 3;
  const u = (bytes[i] as number) | ((bytes[i + 1] as number) << 8);
  return u >= 0x8000 ? u - 0x10000 : u;
}

/** Zero bytes at the end of the base64 payload `buf[start, end)` (silence padding), estimated. */
export function b64TrailingZeroBytes(buf: Buffer, start: number, end: number): number {
  let e = end;
  while (e > start && buf[e - 1] === EQ) e--;
  let run = 0;
  while (e - run > start && buf[e - 1 - run] === LETTER_A) run++;
  // Shorter runs occur in real audio; silence padding is always hundreds of characters.
  return run >= 8 ? ((run * 6) >> 3) & ~1 : 0;
}

const PAYLOAD_KEY = Buffer.from('"payload":"');
const MEDIA_PREFIX = Buffer.from('{"event":"media"');
const USER_AUDIO_PREFIX = Buffer.from('{"user_audio_chunk":"');

/**
 * Where the base64 payload of an Exotel `media` frame sits in `buf`: [start, end), or start -1 when
 * the frame is not a media frame. A scan for the key and the closing quote; no JSON parsing.
 */
export function findMediaPayload(buf: Buffer, out: { start: number; end: number }): void {
  const isMedia =
    buf.length > MEDIA_PREFIX.length &&
    buf.compare(MEDIA_PREFIX, 0, MEDIA_PREFIX.length, 0, MEDIA_PREFIX.length) === 0;
  const k = isMedia ? buf.indexOf(PAYLOAD_KEY, MEDIA_PREFIX.length) : -1;
  if (k < 0) {
    out.start = -1;
    return;
  }
  out.start = k + PAYLOAD_KEY.length;
  out.end = buf.indexOf(QUOTE, out.start);
  if (out.end < 0) out.start = -1;
}

/** Same for `{"user_audio_chunk":"..."}` exactly as both relays build it; -1 otherwise. */
export function findUserAudio(buf: Buffer, out: { start: number; end: number }): void {
  const n = buf.length;
  if (n < USER_AUDIO_PREFIX.length + 2 || buf[n - 1] !== 125 || buf[n - 2] !== QUOTE) {
    out.start = -1;
    return;
  }
  if (buf.compare(USER_AUDIO_PREFIX, 0, USER_AUDIO_PREFIX.length, 0, USER_AUDIO_PREFIX.length) !== 0) {
    out.start = -1;
    return;
  }
  out.start = USER_AUDIO_PREFIX.length;
  out.end = n - 2;
}

/** True when a `media` payload of `bytes` obeys Exotel's rules at `rate`. */
export function isValidExotelPayload(bytes: number, rate: number): boolean {
  const unit = bytesPerMs(rate) * EXOTEL_UNIT_MS;
  const min = Math.ceil(EXOTEL_MIN_FRAME_BYTES / unit) * unit;
  return bytes % unit === 0 && bytes >= min && bytes <= EXOTEL_MAX_FRAME_BYTES;
}
