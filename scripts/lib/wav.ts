/**
 * Reads and writes 16-bit PCM WAV files, mono or stereo, for the local stand-ins (call
 * recordings, caller audio, the local test agent's prompts).
 *
 * Hand-written on purpose: we only ever need integer PCM16 (what Exotel streams and what sox/espeak
 * produce), and a ~100-line reader that walks RIFF chunks is easier to audit than pulling in
 * `wavefile` (11.x), whose API is built around sample-format conversion we never use. Anything other
 * than PCM16 (8-bit, 24-bit, float, compressed) is refused with a clear error naming the file.
 */
import { readFileSync, writeFileSync } from "node:fs";

export interface Wav {
  readonly sampleRate: number;
  readonly channels: number;
  /** Interleaved PCM16 LE samples (for stereo: L R L R ...). */
  readonly pcm: Buffer;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Parses a RIFF/WAVE buffer holding PCM16. `name` only labels errors. */
export function parseWav(buf: Buffer, name = "WAV data"): Wav {
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error(`${name}: not a RIFF/WAVE file`);
  }
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString("ascii", offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16) throw new Error(`${name}: fmt chunk too short`);
      let format = buf.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of the SubFormat GUID.
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 40) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (fmt === undefined) throw new Error(`${name}: data chunk before fmt chunk`);
      if (fmt.format !== WAVE_FORMAT_PCM || fmt.bits !== 16) {
        throw new Error(
          `${name}: only 16-bit PCM WAV is supported (format ${fmt.format}, ${fmt.bits} bits); ` +
            "convert it first, e.g. sox in.wav -b 16 -e signed-integer out.wav",
        );
      }
      if (fmt.channels < 1 || fmt.channels > 2) throw new Error(`${name}: ${fmt.channels} channels`);
      // Writers that stream (sox to a pipe) may leave size 0 or 0xFFFFFFFF: take what is there.
      const end = size === 0 || body + size > buf.length ? buf.length : body + size;
      const frameBytes = 2 * fmt.channels;
      const usable = end - body - ((end - body) % frameBytes);
      return {
        sampleRate: fmt.sampleRate,
        channels: fmt.channels,
        pcm: Buffer.from(buf.subarray(body, body + usable)),
      };
    }
    offset = body + size + (size & 1); // chunks are word-aligned
  }
  throw new Error(`${name}: no data chunk`);
}

export function readWav(path: string): Wav {
  return parseWav(readFileSync(path), path);
}

/** A WAV file image of interleaved PCM16 LE samples. */
export function encodeWav(pcm: Buffer, sampleRate: number, channels = 1): Buffer {
  if (pcm.length % (2 * channels) !== 0) throw new Error("PCM length is not a whole number of frames");
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2 * channels, 28);
  header.writeUInt16LE(2 * channels, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}

export function writeWav(path: string, pcm: Buffer, sampleRate: number, channels = 1): void {
  writeFileSync(path, encodeWav(pcm, sampleRate, channels));
}

/** Interleaves two mono PCM16 tracks (left, right); the shorter one is padded with silence. */
export function interleaveStereo(left: Buffer, right: Buffer): Buffer {
  const n = Math.max(left.length, right.length) >> 1;
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    if (i * 2 + 1 < left.length) out.writeInt16LE(left.readInt16LE(i * 2), i * 4);
    if (i * 2 + 1 < right.length) out.writeInt16LE(right.readInt16LE(i * 2), i * 4 + 2);
  }
  return out;
}

/** Splits interleaved stereo PCM16 into its two mono tracks. */
export function splitStereo(pcm: Buffer): { left: Buffer; right: Buffer } {
  const n = pcm.length >> 2;
  const left = Buffer.alloc(n * 2);
  const right = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    left.writeInt16LE(pcm.readInt16LE(i * 4), i * 2);
    right.writeInt16LE(pcm.readInt16LE(i * 4 + 2), i * 2);
  }
  return { left, right };
}

/** A mono WAV as PCM16 at its own rate; stereo files are mixed down to mono. */
export function readMonoWav(path: string): { sampleRate: number; pcm: Buffer } {
  const wav = readWav(path);
  if (wav.channels === 1) return { sampleRate: wav.sampleRate, pcm: wav.pcm };
  const { left, right } = splitStereo(wav.pcm);
  const mono = Buffer.alloc(left.length);
  for (let i = 0; i < mono.length; i += 2) {
    mono.writeInt16LE((left.readInt16LE(i) + right.readInt16LE(i)) >> 1, i);
  }
  return { sampleRate: wav.sampleRate, pcm: mono };
}
