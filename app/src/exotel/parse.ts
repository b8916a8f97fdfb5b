/**
 * Pure parser: one Exotel text frame -> a typed event or a typed error. Never throws.
 * Liberal in what it accepts (docs/protocols.md, "Exotel"): snake_case or camelCase keys, numbers
 * as numbers or strings ("8000", "8000Hz"), nested or flat `dtmf`, custom parameters in `start` or
 * `connected`, unknown keys and events ignored. Strict about size: every identifier taken from
 * Exotel has a bounded length and character set, so one call cannot flood the logs.
 */

import type { StreamEncoding } from "../audio/formats.js";
import { isObj, NOT_JSON, type Obj, parseWithBase64Field } from "./json-base64.js";
import type {
  ExotelEvent,
  ExotelMediaFormat,
  ExotelParseErrorCode,
  ExotelParseResult,
  ExotelStart,
  IgnoredEvent,
  MediaEvent,
} from "./messages.js";

export const MAX_CUSTOM_PARAMETERS = 16;
export const MAX_PARAM_NAME = 64;
export const MAX_PARAM_VALUE = 512;
/** call_sid, stream_sid, account_sid: Exotel's are 32-character hex; room for other id schemes. */
export const MAX_SID_CHARS = 128;
/** from / to: E.164 is at most 16 characters; room for SIP URIs and "anonymous". */
export const MAX_NUMBER_CHARS = 64;
export const MAX_MARK_NAME = 256;
const PARAM_NAME_RE = /^[A-Za-z0-9_.-]+$/;
const SID_RE = /^[A-Za-z0-9._:-]*$/;
const NUMBER_RE = /^[A-Za-z0-9+*#()._@: -]*$/;
const FORBIDDEN_NAMES = new Set(["__proto__", "constructor", "prototype"]);
const DTMF_DIGIT_RE = /^[0-9*#A-Da-d]$/;

function fail(code: ExotelParseErrorCode, detail: string): ExotelParseResult {
  return { ok: false, error: { code, detail } };
}

/** Reads `snake` or its camelCase twin. */
function pick(o: Obj, snake: string, camel: string): unknown {
  const v = o[snake];
  return v === undefined ? o[camel] : v;
}

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

const LEADING_INT_RE = /^\s*(-?\d{1,15})/;

/** Leading integer of a number or string ("8000", "8000Hz", 8000); undefined otherwise. */
export function lenientInt(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v !== "string") return undefined;
  // Plain digits (every media frame carries three such strings): read them without a regex match.
  // Same result as the regex below: an optional minus, then at most 15 digits.
  const n = v.length;
  let i = v.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const negative = i === 1;
  let value = 0;
  const stop = Math.min(n, i + 15);
  for (; i < stop; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
  }
  if (i > (negative ? 1 : 0)) return negative ? -value : value;
  const m = LEADING_INT_RE.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** Why an identifier is refused, or undefined when it is acceptable. Never quotes the value. */
export function identifierProblem(kind: "sid" | "number", value: string): string | undefined {
  const max = kind === "sid" ? MAX_SID_CHARS : MAX_NUMBER_CHARS;
  if (value.length > max) return `${value.length} characters, at most ${max}`;
  if (!(kind === "sid" ? SID_RE : NUMBER_RE).test(value)) return "characters outside the allowed set";
  return undefined;
}

/** The last stream sid found acceptable: media frames repeat it ten times a second. */
let lastSafeSid = "";

function safeSid(v: string): boolean {
  if (v === lastSafeSid) return true;
  if (identifierProblem("sid", v) !== undefined) return false;
  lastSafeSid = v;
  return true;
}

/**
 * Copies string-ish parameters with safe names into a null-prototype record. Accepts an object,
 * or the `key=value,key=value` string form the stream configuration is written in.
 */
export function sanitizeParameters(raw: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const entries = parameterEntries(raw);
  let n = 0;
  for (const [key, rawValue] of entries) {
    if (n >= MAX_CUSTOM_PARAMETERS) break;
    if (key.length > MAX_PARAM_NAME || FORBIDDEN_NAMES.has(key) || !PARAM_NAME_RE.test(key)) continue;
    const value = str(rawValue);
    if (value === undefined) continue;
    const bounded = value.length > MAX_PARAM_VALUE ? value.slice(0, MAX_PARAM_VALUE) : value;
    if (hasControlChar(bounded)) continue;
    out[key] = bounded;
    n++;
  }
  return out;
}

/** C0 controls and DEL: a parameter value holding one is dropped rather than logged. */
function hasControlChar(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function parameterEntries(raw: unknown): [string, unknown][] {
  if (isObj(raw)) return Object.keys(raw).map((k) => [k, raw[k]]);
  if (typeof raw !== "string" || raw === "") return [];
  // Bounded before splitting: a hostile string must not cost more than the parameters it may carry.
  const limit = MAX_CUSTOM_PARAMETERS * (MAX_PARAM_NAME + MAX_PARAM_VALUE + 2);
  const text = raw.length > limit ? raw.slice(0, limit) : raw;
  const entries: [string, unknown][] = [];
  for (const pair of text.split(",", MAX_CUSTOM_PARAMETERS * 2)) {
    const eq = pair.indexOf("=");
    if (eq > 0) entries.push([pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()]);
  }
  return entries;
}

/** Spellings of the two payload encodings, lower-case, without parameters (docs/protocols.md). */
const PCM16_NAMES = new Set([
  "raw",
  "audio/x-raw",
  "base64",
  "slin",
  "audio/slin",
  "l16",
  "audio/l16",
  "audio/x-l16",
  "pcm",
  "pcm16",
  "pcm_s16le",
  "s16le",
  "linear16",
  "audio/pcm",
]);
const ULAW_NAMES = new Set([
  "audio/x-mulaw",
  "audio/mulaw",
  "audio/x-ulaw",
  "audio/ulaw",
  "audio/pcmu",
  "mulaw",
  "ulaw",
  "mu-law",
  "u-law",
  "pcmu",
  "g711_ulaw",
  "g711u",
]);
const MAX_ENCODING_CHARS = 64;

export interface ParsedEncoding {
  readonly encoding: StreamEncoding;
  /** From a `;rate=` parameter, when present. */
  readonly rate?: number;
}

/**
 * `audio/x-mulaw;rate=8000` -> {ulaw, 8000}; `raw` -> {pcm16}. Undefined for an encoding this bridge
 * cannot carry (A-law, Opus...), which the call refuses.
 */
export function parseStreamEncoding(raw: string): ParsedEncoding | undefined {
  const parts = raw.toLowerCase().split(";");
  const base = (parts[0] ?? "").trim();
  let encoding: StreamEncoding;
  if (PCM16_NAMES.has(base)) encoding = "pcm16";
  else if (ULAW_NAMES.has(base)) encoding = "ulaw";
  else return undefined;
  for (const p of parts.slice(1)) {
    const [k, v] = p.split("=").map((x) => x.trim());
    if (k === "rate") {
      const rate = lenientInt(v);
      if (rate !== undefined && rate > 0) return { encoding, rate };
    }
  }
  return { encoding };
}

/** Printable and short, for an error detail naming what was refused. */
function quoteForLog(v: string): string {
  const cut = v.length > 32 ? `${v.slice(0, 32)}...` : v;
  return JSON.stringify(cut.replace(/[^A-Za-z0-9/;=._+ -]/g, "?"));
}

type MediaFormatResult = { ok: true; format: ExotelMediaFormat } | { ok: false; detail: string };

function parseMediaFormat(raw: unknown): MediaFormatResult {
  const o = isObj(raw) ? raw : {};
  const encodingRaw = str(o.encoding);
  let rate = lenientInt(pick(o, "sample_rate", "sampleRate"));
  if (rate !== undefined && rate <= 0) rate = undefined;
  const bitRate = str(pick(o, "bit_rate", "bitRate"));
  let streamEncoding: StreamEncoding = "pcm16";
  const assumed = encodingRaw === undefined || encodingRaw.trim() === "";
  if (!assumed) {
    if (encodingRaw.length > MAX_ENCODING_CHARS)
      return { ok: false, detail: `start.media_format.encoding: ${encodingRaw.length} characters` };
    const parsed = parseStreamEncoding(encodingRaw);
    if (parsed === undefined)
      return {
        ok: false,
        detail: `start.media_format.encoding ${quoteForLog(encodingRaw)} is neither PCM16 nor mu-law`,
      };
    streamEncoding = parsed.encoding;
    rate ??= parsed.rate;
  }
  if (streamEncoding === "ulaw" && rate !== undefined && rate !== 8000)
    return { ok: false, detail: `start.media_format: mu-law at ${rate} Hz (only 8000 Hz is defined)` };
  return {
    ok: true,
    format: {
      ...(encodingRaw !== undefined && !assumed && { encoding: encodingRaw }),
      ...(rate !== undefined && { sampleRate: rate }),
      ...(bitRate !== undefined && { bitRate: bitRate.length > 32 ? bitRate.slice(0, 32) : bitRate }),
      streamEncoding,
      encodingAssumed: assumed,
    },
  };
}

/** Reads an optional identifier; an unacceptable one refuses the frame (see identifierProblem). */
function readId(
  o: Obj,
  snake: string,
  camel: string,
  kind: "sid" | "number",
  where: string,
): string | ExotelParseResult {
  const v = str(pick(o, snake, camel)) ?? "";
  const problem = identifierProblem(kind, v);
  return problem === undefined ? v : fail("invalid_field", `${where}: ${problem}`);
}

function parseStart(msg: Obj, sequence: number | undefined, topSid: string | undefined): ExotelParseResult {
  const s = msg.start;
  if (!isObj(s)) return fail("missing_field", "start.start");
  const streamSid = str(pick(s, "stream_sid", "streamSid")) ?? topSid;
  if (streamSid === undefined || streamSid === "") return fail("missing_field", "start.stream_sid");
  const sidProblem = identifierProblem("sid", streamSid);
  if (sidProblem !== undefined) return fail("invalid_field", `start.stream_sid: ${sidProblem}`);
  const callSid = readId(s, "call_sid", "callSid", "sid", "start.call_sid");
  if (typeof callSid !== "string") return callSid;
  const accountSid = readId(s, "account_sid", "accountSid", "sid", "start.account_sid");
  if (typeof accountSid !== "string") return accountSid;
  const from = readId(s, "from", "from", "number", "start.from");
  if (typeof from !== "string") return from;
  const to = readId(s, "to", "to", "number", "start.to");
  if (typeof to !== "string") return to;
  const mediaFormat = parseMediaFormat(pick(s, "media_format", "mediaFormat"));
  if (!mediaFormat.ok) return fail("unsupported_encoding", mediaFormat.detail);
  const start: ExotelStart = {
    streamSid,
    callSid,
    accountSid,
    from,
    to,
    customParameters: sanitizeParameters(pick(s, "custom_parameters", "customParameters")),
    mediaFormat: mediaFormat.format,
  };
  return {
    ok: true,
    event: { event: "start", ...(sequence !== undefined && { sequence }), streamSid, start },
  };
}

/** One shared object: outbound-track frames arrive ten times a second on a both-track stream. */
const OUTBOUND_TRACK: IgnoredEvent = Object.freeze({
  event: "ignored",
  name: "media",
  reason: "outbound_track",
});

function isOutboundTrack(track: unknown): boolean {
  if (track === undefined || track === "inbound") return false;
  if (typeof track !== "string") return false;
  const t = track.toLowerCase();
  return t === "outbound" || t === "outbound_track";
}

/** Parses one text frame. `raw` is whatever the socket delivered as text. */
export function parseExotelMessage(raw: string): ExotelParseResult {
  // Media frames are ~97% payload: parsed without scanning it (exotel/json-base64.ts).
  const msg = parseWithBase64Field(raw, "media", '"payload":"');
  if (msg === NOT_JSON) return fail("invalid_json", `not JSON (${raw.length} chars)`);
  if (!isObj(msg)) return fail("not_an_object", typeof msg);
  const name = msg.event;
  if (typeof name !== "string" || name === "") return fail("missing_event", "event");
  const sequence = lenientInt(pick(msg, "sequence_number", "sequenceNumber"));
  const streamSid = str(pick(msg, "stream_sid", "streamSid"));
  if (streamSid !== undefined && !safeSid(streamSid))
    return fail("invalid_field", `stream_sid: ${identifierProblem("sid", streamSid)}`);
  if (name === "media") {
    const media = msg.media;
    if (!isObj(media)) return fail("missing_field", "media.media");
    if (isOutboundTrack(media.track ?? msg.track)) return { ok: true, event: OUTBOUND_TRACK };
    const payload = media.payload;
    if (typeof payload !== "string")
      return fail(payload === undefined ? "missing_field" : "invalid_field", "media.payload");
    // Built field by field (same keys, same order as the spread form below): this runs per frame.
    const e: Record<string, unknown> = { event: "media" };
    if (sequence !== undefined) e.sequence = sequence;
    if (streamSid !== undefined) e.streamSid = streamSid;
    const chunk = lenientInt(media.chunk);
    if (chunk !== undefined) e.chunk = chunk;
    const timestamp = lenientInt(media.timestamp);
    if (timestamp !== undefined) e.timestamp = timestamp;
    e.payload = payload;
    return { ok: true, event: e as unknown as MediaEvent };
  }
  const common = {
    ...(sequence !== undefined && { sequence }),
    ...(streamSid !== undefined && { streamSid }),
  };

  let event: ExotelEvent;
  switch (name) {
    case "connected": {
      const nested = isObj(msg.connected) ? msg.connected : undefined;
      const params =
        pick(msg, "custom_parameters", "customParameters") ??
        (nested && pick(nested, "custom_parameters", "customParameters"));
      event = { event: "connected", customParameters: sanitizeParameters(params) };
      break;
    }
    case "start":
      return parseStart(msg, sequence, streamSid);
    case "dtmf": {
      // Documented nested (`dtmf.digit`) and flat (`digit` beside `event`); both are accepted.
      const d = isObj(msg.dtmf) ? msg.dtmf : msg;
      const digit = str(d.digit);
      if (digit === undefined) return fail("missing_field", "dtmf.digit");
      if (!DTMF_DIGIT_RE.test(digit)) return fail("invalid_field", "dtmf.digit");
      const durationMs = lenientInt(d.duration);
      event = {
        event: "dtmf",
        ...common,
        digit: digit.toUpperCase(),
        ...(durationMs !== undefined && { durationMs }),
      };
      break;
    }
    case "mark": {
      const m = msg.mark;
      const markName = isObj(m) ? str(m.name) : undefined;
      if (markName === undefined) return fail("missing_field", "mark.name");
      if (markName.length > MAX_MARK_NAME)
        return fail("invalid_field", `mark.name: ${markName.length} characters, at most ${MAX_MARK_NAME}`);
      event = { event: "mark", ...common, name: markName };
      break;
    }
    case "stop": {
      const s = isObj(msg.stop) ? msg.stop : {};
      // The call ends either way: ids that fail the bounds are dropped rather than refused.
      const callSid = str(pick(s, "call_sid", "callSid"));
      const accountSid = str(pick(s, "account_sid", "accountSid"));
      const reason = str(s.reason);
      event = {
        event: "stop",
        ...common,
        ...(callSid !== undefined && identifierProblem("sid", callSid) === undefined && { callSid }),
        ...(accountSid !== undefined && identifierProblem("sid", accountSid) === undefined && { accountSid }),
        ...(reason !== undefined && { reason: reason.length > 64 ? reason.slice(0, 64) : reason }),
      };
      break;
    }
    case "silence":
      event = { event: "silence", ...common };
      break;
    default:
      event = { event: "unknown", name: name.length > 64 ? `${name.slice(0, 64)}...` : name };
  }
  return { ok: true, event };
}
