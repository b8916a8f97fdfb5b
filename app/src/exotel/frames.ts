/**
 * Builders for frames the bridge sends to Exotel (docs/protocols.md, "Messages to Exotel").
 * Strict in what we send: snake_case `stream_sid`, exact shapes, and, like Exotel's own reference
 * bridges, `sequence_number` on every frame plus `media.chunk` and `media.timestamp` on audio (the
 * reference code notes some streams end early without them). Numbers go out as strings, as Exotel's
 * documented frames and reference code write them. Built by string concatenation because they sit
 * on the per-frame path and base64 never needs JSON escaping.
 */
import { type AudioFormat, bytesPerSample } from "../audio/formats.js";

/** JSON-encodes the stream sid once per call; pass the result to the builders below. */
export function encodeStreamSid(streamSid: string): string {
  return JSON.stringify(streamSid);
}

/**
 * One audio frame. Without `sequence` the frame has the bare documented shape (kept for tools and
 * tests); the bridge passes all three counters, from an OutboundSequencer.
 */
export function mediaFrame(
  encodedSid: string,
  payloadBase64: string,
  sequence?: number,
  chunk?: number,
  timestampMs?: number,
): string {
  if (sequence === undefined)
    return `{"event":"media","stream_sid":${encodedSid},"media":{"payload":"${payloadBase64}"}}`;
  return `{"event":"media","sequence_number":"${sequence}","stream_sid":${encodedSid},"media":{"chunk":"${chunk ?? sequence}","timestamp":"${timestampMs ?? 0}","payload":"${payloadBase64}"}}`;
}

export function markFrame(encodedSid: string, name: string, sequence?: number): string {
  const seq = sequence === undefined ? "" : `"sequence_number":"${sequence}",`;
  return `{"event":"mark",${seq}"stream_sid":${encodedSid},"mark":{"name":${JSON.stringify(name)}}}`;
}

export function clearFrame(encodedSid: string, sequence?: number): string {
  const seq = sequence === undefined ? "" : `"sequence_number":"${sequence}",`;
  return `{"event":"clear",${seq}"stream_sid":${encodedSid}}`;
}

/**
 * Numbers every frame the bridge sends on one stream, and builds it. One per stream:
 *   - `sequence_number`: 1, 2, 3... across media, mark and clear alike, strictly increasing;
 *   - `media.chunk`: 1, 2, 3... across media frames only;
 *   - `media.timestamp`: where this frame's audio starts, in whole milliseconds of audio sent on
 *     this stream so far (cleared audio included: the count never goes back).
 * Pure apart from its own counters; no allocation beyond the frame string itself.
 */
export class OutboundSequencer {
  private readonly encodedSid: string;
  private readonly bytesPerSecond: number;
  private sequence = 0;
  private chunk = 0;
  /** Bytes of audio sent so far, in the stream's format: exact, so the timestamp never drifts. */
  private audioBytes = 0;

  constructor(streamSid: string, format: AudioFormat) {
    this.encodedSid = encodeStreamSid(streamSid);
    this.bytesPerSecond = format.sampleRate * bytesPerSample(format);
  }

  /** `payloadBytes` is the decoded length of `payloadBase64` (the caller has it already). */
  media(payloadBase64: string, payloadBytes: number): string {
    const timestamp = this.audioMs;
    this.audioBytes += payloadBytes;
    return mediaFrame(this.encodedSid, payloadBase64, ++this.sequence, ++this.chunk, timestamp);
  }

  mark(name: string): string {
    return markFrame(this.encodedSid, name, ++this.sequence);
  }

  clear(): string {
    return clearFrame(this.encodedSid, ++this.sequence);
  }

  /** Counters so far, for logs and the call summary. */
  get framesSent(): number {
    return this.sequence;
  }

  get mediaFramesSent(): number {
    return this.chunk;
  }

  /** Milliseconds of audio sent so far. */
  get audioMs(): number {
    return Math.floor((this.audioBytes * 1000) / this.bytesPerSecond);
  }
}
