/**
 * The audio format of one Exotel stream, from what the URL asked for and what `start` announced
 * (docs/protocols.md, "Audio formats"). Pure: the call logs the notes and uses the format for
 * conversion, framing, frame durations and the outbound timestamps.
 *
 * PCM16: `?sample-rate=` configured the applet, so it wins; without it a valid
 * `media_format.sample_rate` is used, else 8000. Mu-law: always 8 kHz (the only rate Exotel
 * defines), whatever the URL says.
 */
import {
  type AudioFormat,
  EXOTEL_ULAW_FORMAT,
  type ExotelSampleRate,
  exotelFormat,
  isExotelSampleRate,
} from "../audio/formats.js";
import type { ExotelMediaFormat } from "./messages.js";

export type StreamFormatNote =
  /** `media_format.sample_rate` is not 8000, 16000 or 24000: 8000 used. */
  | { readonly kind: "sample_rate_invalid"; readonly reported: number }
  /** URL and `media_format` disagree: the URL's rate used. */
  | { readonly kind: "sample_rate_mismatch"; readonly url: number; readonly reported: number }
  /** A mu-law stream with `?sample-rate=` other than 8000: the URL's rate does not apply. */
  | { readonly kind: "url_rate_ignored"; readonly url: number }
  /** No `media_format.encoding`: PCM16 assumed. */
  | { readonly kind: "encoding_assumed" };

export interface StreamFormatResult {
  readonly format: AudioFormat;
  readonly notes: readonly StreamFormatNote[];
}

export function resolveStreamFormat(
  mediaFormat: ExotelMediaFormat,
  urlRate: ExotelSampleRate | undefined,
): StreamFormatResult {
  const notes: StreamFormatNote[] = [];
  const reported = mediaFormat.sampleRate;
  if (mediaFormat.streamEncoding === "ulaw") {
    // The parser already refused mu-law announced at any other rate.
    if (urlRate !== undefined && urlRate !== 8000) notes.push({ kind: "url_rate_ignored", url: urlRate });
    return { format: EXOTEL_ULAW_FORMAT, notes };
  }
  if (mediaFormat.encodingAssumed) notes.push({ kind: "encoding_assumed" });
  let rate: ExotelSampleRate = urlRate ?? 8000;
  if (reported !== undefined) {
    if (urlRate === undefined) {
      if (isExotelSampleRate(reported)) rate = reported;
      else notes.push({ kind: "sample_rate_invalid", reported });
    } else if (reported !== urlRate) {
      notes.push({ kind: "sample_rate_mismatch", url: urlRate, reported });
    }
  }
  return { format: exotelFormat(rate), notes };
}
