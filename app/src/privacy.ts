/**
 * What personal data may reach the logs. Caller numbers and what callers say are personal data under
 * India's Digital Personal Data Protection Act 2023; application logs are kept for weeks and read by
 * everyone with log access, so by default numbers are masked and transcripts stay out of the logs
 * (the per-call record under CALL_LOG_DIR, written where the operator chose, still has them).
 * Pure functions: the call code asks here before it puts a number or a transcript in a log line.
 */

/** `LOG_CALLER_NUMBERS`: `masked` keeps the last digits (enough to tell calls apart), `full` logs as received. */
export type NumberLogMode = "masked" | "full";
/** `LOG_TRANSCRIPTS`: `off` none, `summary` only sizes (turns, characters), `lines` every line's text. */
export type TranscriptLogMode = "off" | "summary" | "lines";

export const NUMBER_LOG_MODES: readonly NumberLogMode[] = ["masked", "full"];
export const TRANSCRIPT_LOG_MODES: readonly TranscriptLogMode[] = ["off", "summary", "lines"];

export interface PrivacySettings {
  readonly callerNumbers: NumberLogMode;
  readonly transcripts: TranscriptLogMode;
}

export const PRIVACY_DEFAULTS: PrivacySettings = { callerNumbers: "masked", transcripts: "off" };

const MASK = "*";

/**
 * `+919876543210` -> `+91******3210`; `09876543210` -> `0******3210`. Keeps a leading `+` and the
 * country code for international numbers (which country called is operationally useful and not
 * identifying), the last four digits of numbers long enough to be personal, and nothing of short ones
 * (an extension or a short code keeps its last digit only). Separators are dropped; anything that
 * is not a phone number (letters, SIP URIs) is masked whole so nothing slips through.
 */
export function maskPhoneNumber(value: string): string {
  const trimmed = value.trim();
  if (trimmed === "") return "";
  const plus = trimmed.startsWith("+");
  const digits = trimmed.replace(/[\s().-]/g, "").replace(/^\+/, "");
  if (!/^\d+$/.test(digits)) return MASK.repeat(Math.min(trimmed.length, 16));
  const keepTail = digits.length >= 10 ? 4 : digits.length >= 6 ? 2 : 1;
  const keepHead = plus ? countryCodeLength(digits) : digits.startsWith("0") ? 1 : 0;
  if (keepHead + keepTail >= digits.length) return (plus ? "+" : "") + MASK.repeat(digits.length);
  const head = digits.slice(0, keepHead);
  const tail = digits.slice(digits.length - keepTail);
  return `${plus ? "+" : ""}${head}${MASK.repeat(digits.length - keepHead - keepTail)}${tail}`;
}

/**
 * Length of the ITU country code at the start of `digits`: 1 for the North American (1) and Russian (7)
 * zones, 2 for the codes assigned in two digits (India 91 among them), 3 otherwise.
 */
function countryCodeLength(digits: string): number {
  const first = digits[0];
  if (first === "1" || first === "7") return 1;
  const two = digits.slice(0, 2);
  // Two-digit codes: 20, 27, 30-34, 36, 39, 40, 41, 43-49, 51-58, 60-66, 81, 82, 84, 86, 90-95, 98.
  return /^(2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58])$/.test(two) ? 2 : 3;
}

/** A caller or callee number as it may appear in a log line. */
export function numberForLog(value: string | undefined, mode: NumberLogMode): string | undefined {
  if (value === undefined) return undefined;
  return mode === "full" ? value : maskPhoneNumber(value);
}

/** Fields a transcript line contributes to a log line, or undefined when it must not be logged at all. */
export type TranscriptLogFields = { readonly text: string } | { readonly chars: number };

export function transcriptForLog(text: string, mode: TranscriptLogMode): TranscriptLogFields | undefined {
  if (mode === "off") return undefined;
  return mode === "lines" ? { text } : { chars: text.length };
}

/**
 * Bound to one configuration: what the call code holds. `number()` for any phone number,
 * `transcript()` for each user or agent line (undefined = write no log line for it).
 */
export interface LogPrivacy {
  readonly settings: PrivacySettings;
  number(value: string | undefined): string | undefined;
  transcript(text: string): TranscriptLogFields | undefined;
}

export function logPrivacy(settings: PrivacySettings = PRIVACY_DEFAULTS): LogPrivacy {
  return {
    settings,
    number: (value) => numberForLog(value, settings.callerNumbers),
    transcript: (text) => transcriptForLog(text, settings.transcripts),
  };
}
