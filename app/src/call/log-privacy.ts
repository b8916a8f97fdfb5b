/**
 * What of a call's personal data its log lines may carry, beyond the fields the logger masks by
 * name (`from`, `to`, ..., see log.ts). Pure functions, applied by call telemetry before a line is
 * written; the summary handed to hooks and the per-call record (CALL_LOG_DIR) stay whole.
 *
 * - Custom parameters become the agent's dynamic variables and are whatever the flow put in the
 *   applet URL: often a customer's number. With LOG_CALLER_NUMBERS=masked every digit run long
 *   enough to be a phone or account number is masked in their values.
 * - DTMF digits are what the caller typed: account numbers, dates of birth, a mobile number asked
 *   for by the agent. They are the caller's words by keypad, so they follow LOG_TRANSCRIPTS: only
 *   `lines` logs them; otherwise lines say a digit was pressed and the summary keeps the count.
 */
import { maskPhoneNumber, type PrivacySettings } from "../privacy.js";
import type { CallSummary } from "./summary.js";

/** A run of digits with the separators people write numbers with; six digits or more is masked. */
const DIGIT_RUN = /\+?\d[\d\s().-]*\d/g;
const MIN_MASKED_DIGITS = 6;

/** `"call me on 9811113333"` -> `"call me on ******3333"`; shorter runs ("room 12") are kept. */
export function maskNumbersInText(text: string): string {
  return text.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/\D/g, "").length;
    if (digits < MIN_MASKED_DIGITS) return run;
    // Keep what trailed the number (a space before the next word) out of the mask.
    const trimmed = run.replace(/[\s().-]+$/, "");
    return maskPhoneNumber(trimmed) + run.slice(trimmed.length);
  });
}

export function customParametersForLog(
  params: Readonly<Record<string, string>>,
  privacy: PrivacySettings,
): Readonly<Record<string, string>> {
  if (privacy.callerNumbers === "full") return params;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) out[k] = maskNumbersInText(v);
  return out;
}

/** Whether a DTMF digit or entry may appear in a log line. */
export function dtmfDigitsLogged(privacy: PrivacySettings): boolean {
  return privacy.transcripts === "lines";
}

/**
 * The `call_summary` as logged: custom parameters masked, DTMF digits and transcript turns only with
 * LOG_TRANSCRIPTS=lines. Counts (`dtmf_count`, `transcript_turns`) stay, so dashboards keep working.
 */
export function summaryForLog(summary: CallSummary, privacy: PrivacySettings): Record<string, unknown> {
  const { transcript, dtmf, custom_parameters, ...rest } = summary;
  const lines = privacy.transcripts === "lines";
  return {
    ...rest,
    custom_parameters: customParametersForLog(custom_parameters, privacy),
    ...(lines && { dtmf, transcript }),
  };
}
