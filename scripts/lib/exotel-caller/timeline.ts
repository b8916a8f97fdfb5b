/**
 * The caller's side of the call as a script: audio pieces placed on the call clock and DTMF entries.
 * The audio is mixed into one timeline at the stream rate before the call starts, so frame k of
 * the call carries exactly timeline bytes [k * frame, (k + 1) * frame).
 */
import { convertRate } from "../audio.js";
import { readMonoWav } from "../wav.js";

/** A piece of caller audio placed on the call's timeline. */
export interface CallerAudio {
  /** When it starts, ms after `start`; default: right after the previous piece (the first at 0). */
  readonly atMs?: number;
  /** A WAV file (any rate, mono or stereo PCM16), or... */
  readonly wav?: string;
  /** ...PCM16 mono at `sampleRate`. */
  readonly pcm?: Buffer;
  readonly sampleRate?: number;
}

export interface DtmfEntry {
  /** ms after `start` of the first digit. */
  readonly atMs: number;
  /** One or more of 0-9 * #, sent as one event per digit. */
  readonly digits: string;
  /** Between digits; default 250 ms. */
  readonly gapMs?: number;
  /** Reported key-press duration; default 100 ms. */
  readonly durationMs?: number;
}

/** Builds the caller timeline: every piece converted to the stream rate and mixed at its offset. */
export function buildCallerTimeline(pieces: readonly CallerAudio[], rate: number): Buffer {
  const placed: Array<{ at: number; pcm: Buffer }> = [];
  let cursor = 0;
  for (const p of pieces) {
    let pcm: Buffer;
    let pieceRate: number;
    if (p.wav !== undefined) {
      const w = readMonoWav(p.wav);
      pcm = w.pcm;
      pieceRate = w.sampleRate;
    } else if (p.pcm !== undefined) {
      pcm = p.pcm;
      pieceRate = p.sampleRate ?? rate;
    } else throw new Error("caller audio needs wav or pcm");
    const converted = convertRate(pcm, pieceRate, rate);
    const at = Math.floor(((p.atMs ?? cursor) * rate) / 1000) * 2;
    placed.push({ at, pcm: converted });
    cursor = ((at + converted.length) / 2 / rate) * 1000;
  }
  const len = placed.reduce((m, p) => Math.max(m, p.at + p.pcm.length), 0);
  const out = Buffer.alloc(len);
  for (const p of placed) {
    for (let i = 0; i + 1 < p.pcm.length; i += 2) {
      const s = out.readInt16LE(p.at + i) + p.pcm.readInt16LE(i);
      out.writeInt16LE(Math.max(-32768, Math.min(32767, s)), p.at + i);
    }
  }
  return out;
}
