/** G.711 A-law <-> PCM16 LE, for `alaw_8000` agents. The codec itself comes from `alawmulaw`. */
import alawmulaw from "alawmulaw";
import { int16ToBuffer, int16View } from "./pcm16.js";

export function alawToPcm16(alaw: Buffer): Buffer {
  return int16ToBuffer(alawmulaw.alaw.decode(alaw));
}

/** `pcm` must hold whole samples (use a Pcm16Aligner upstream). */
export function pcm16ToAlaw(pcm: Buffer): Buffer {
  const encoded = alawmulaw.alaw.encode(int16View(pcm));
  return Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}
