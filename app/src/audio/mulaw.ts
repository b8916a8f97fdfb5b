/** G.711 mu-law <-> PCM16 LE, for mu-law Exotel streams and `ulaw_8000` agents. The codec itself comes from `alawmulaw`. */
import alawmulaw from "alawmulaw";
import { int16ToBuffer, int16View } from "./pcm16.js";

export function ulawToPcm16(ulaw: Buffer): Buffer {
  return int16ToBuffer(alawmulaw.mulaw.decode(ulaw));
}

/** `pcm` must hold whole samples (use a Pcm16Aligner upstream). */
export function pcm16ToUlaw(pcm: Buffer): Buffer {
  const encoded = alawmulaw.mulaw.encode(int16View(pcm));
  return Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}
