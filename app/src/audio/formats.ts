/**
 * Audio formats on both sides of the bridge.
 *
 * Exotel streams raw PCM16 LE mono at 8, 16 or 24 kHz (docs/protocols/exotel.md).
 * ElevenLabs agents use `pcm_<rate>` or `ulaw_8000` (docs/protocols/elevenlabs.md), negotiated per agent
 * and announced in `conversation_initiation_metadata`.
 */

export type Encoding = "pcm16" | "ulaw";

export interface AudioFormat {
  readonly encoding: Encoding;
  readonly sampleRate: number;
}

export const EXOTEL_SAMPLE_RATES = [8000, 16000, 24000] as const;
export type ExotelSampleRate = (typeof EXOTEL_SAMPLE_RATES)[number];

export const AGENT_AUDIO_FORMATS = [
  "pcm_8000",
  "pcm_16000",
  "pcm_22050",
  "pcm_24000",
  "pcm_44100",
  "pcm_48000",
  "ulaw_8000",
] as const;
export type AgentAudioFormatName = (typeof AGENT_AUDIO_FORMATS)[number];

const AGENT_FORMATS: ReadonlyMap<string, AudioFormat> = new Map(
  AGENT_AUDIO_FORMATS.map((name) => {
    const [enc, rate] = name.split("_") as [string, string];
    return [name, Object.freeze({ encoding: enc === "ulaw" ? "ulaw" : "pcm16", sampleRate: Number(rate) })];
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

/** One shared, frozen format per rate: called per caller frame, so it must not allocate. */
export function exotelFormat(sampleRate: ExotelSampleRate): AudioFormat {
  return EXOTEL_FORMATS.get(sampleRate) as AudioFormat;
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

export function formatName(format: AudioFormat): string {
  return `${format.encoding === "ulaw" ? "ulaw" : "pcm"}_${format.sampleRate}`;
}
