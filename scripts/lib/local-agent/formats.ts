/**
 * The agent's audio formats: `pcm_RATE` (PCM16 LE mono) or `ulaw_8000` (G.711 mu-law), as named in
 * ElevenLabs' conversation metadata.
 */
import { convertRate, mulawDecode, mulawEncode } from "../audio.js";
import type { AgentAudioFormat, FormatInfo } from "./types.js";

export function formatInfo(name: AgentAudioFormat): FormatInfo {
  const [enc, rate] = name.split("_") as [string, string];
  return { name, ulaw: enc === "ulaw", sampleRate: Number(rate) };
}

export function bytesPerMsOf(format: FormatInfo): number {
  return ((format.ulaw ? 1 : 2) * format.sampleRate) / 1000;
}

/** PCM16 at any rate -> bytes in `format` (resampled, mu-law encoded when needed). */
export function encodeFor(format: FormatInfo, pcm: Buffer, sampleRate: number): Buffer {
  const atRate = convertRate(pcm, sampleRate, format.sampleRate);
  return format.ulaw ? mulawEncode(atRate) : atRate;
}

/** Bytes in `format` -> PCM16 at the format's rate. */
export function decodeFrom(format: FormatInfo, bytes: Buffer): Buffer {
  return format.ulaw ? mulawDecode(bytes) : bytes;
}
