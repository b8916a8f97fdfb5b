/**
 * Audio formats on both sides of the bridge (docs/protocols.md, "Audio formats").
 *
 * Exotel streams either 16-bit linear PCM (little-endian, mono) at 8, 16 or 24 kHz, or G.711 mu-law
 * at 8 kHz, as its `start.media_format` announces. ElevenLabs agents use `pcm_<rate>`, `ulaw_8000`
 * or `alaw_8000`, negotiated per agent and announced in `conversation_initiation_metadata`.
 */

export type Encoding = "pcm16" | "ulaw" | "alaw";

export interface AudioFormat {
  readonly encoding: Encoding;
  readonly sampleRate: number;
}

export const EXOTEL_SAMPLE_RATES = [8000, 16000, 24000] as const;
export type ExotelSampleRate = (typeof EXOTEL_SAMPLE_RATES)[number];

/** What an Exotel stream may carry: PCM16 at any stream rate, mu-law at 8 kHz only. */
export type StreamEncoding = "pcm16" | "ulaw";

export const AGENT_AUDIO_FORMATS = [
  "pcm_8000",
  "pcm_16000",
  "pcm_22050",
  "pcm_24000",
  "pcm_44100",
  "pcm_48000",
  "ulaw_8000",
  "alaw_8000",
] as const;
export type AgentAudioFormatName = (typeof AGENT_AUDIO_FORMATS)[number];

/** What the official client assumes when metadata names no format (docs/protocols.md). */
export const DEFAULT_AGENT_FORMAT_NAME: AgentAudioFormatName = "pcm_16000";

const PREFIX_ENCODING: Readonly<Record<string, Encoding>> = { pcm: "pcm16", ulaw: "ulaw", alaw: "alaw" };

const AGENT_FORMATS: ReadonlyMap<string, AudioFormat> = new Map(
  AGENT_AUDIO_FORMATS.map((name) => {
    const [prefix, rate] = name.split("_") as [string, string];
    const encoding = PREFIX_ENCODING[prefix] as Encoding;
    return [name, Object.freeze({ encoding, sampleRate: Number(rate) })];
  }),
);

/** `pcm_16000` -> {pcm16, 16000}; undefined for anything the agent protocol does not define. */
export function parseAgentFormat(name: unknown): AudioFormat | undefined {
  return typeof name === "string" ? AGENT_FORMATS.get(name) : undefined;
}

export function isExotelSampleRate(rate: number): rate is ExotelSampleRate {
  return rate === 8000 || rate === 16000 || rate === 24000;
}

const EXOTEL_FORMATS: ReadonlyMap<number, AudioFormat> = new Map(
  EXOTEL_SAMPLE_RATES.map((rate) => [rate, Object.freeze({ encoding: "pcm16", sampleRate: rate })]),
);

/** The one mu-law stream format Exotel documents. */
export const EXOTEL_ULAW_FORMAT: AudioFormat = Object.freeze({ encoding: "ulaw", sampleRate: 8000 });

/** One shared, frozen PCM16 format per rate: called per caller frame, so it must not allocate. */
export function exotelFormat(sampleRate: ExotelSampleRate): AudioFormat {
  return EXOTEL_FORMATS.get(sampleRate) as AudioFormat;
}

/**
 * The shared, frozen format of an Exotel stream; undefined for a combination Exotel does not
 * stream (mu-law is 8 kHz only), which the call refuses.
 */
export function exotelStreamFormat(encoding: StreamEncoding, sampleRate: number): AudioFormat | undefined {
  if (encoding === "ulaw") return sampleRate === 8000 ? EXOTEL_ULAW_FORMAT : undefined;
  return isExotelSampleRate(sampleRate) ? exotelFormat(sampleRate) : undefined;
}

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.sampleRate === b.sampleRate;
}

export function bytesPerSample(format: AudioFormat): number {
  return format.encoding === "pcm16" ? 2 : 1;
}

/** Duration in milliseconds of `bytes` of audio in `format`. */
export function durationMs(bytes: number, format: AudioFormat): number {
  return (bytes / bytesPerSample(format) / format.sampleRate) * 1000;
}

/** The byte that encodes digital silence: 0 for PCM16, 0xFF for mu-law, 0xD5 for A-law. */
export function silenceByte(format: AudioFormat): number {
  if (format.encoding === "ulaw") return 0xff;
  if (format.encoding === "alaw") return 0xd5;
  return 0;
}

export function formatName(format: AudioFormat): string {
  const prefix = format.encoding === "pcm16" ? "pcm" : format.encoding;
  return `${prefix}_${format.sampleRate}`;
}
