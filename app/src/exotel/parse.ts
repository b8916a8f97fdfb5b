/**
 * Pure parser: one Exotel text frame -> a typed event or a typed error. Never throws.
 * Liberal in what it accepts (docs/protocols/exotel.md): snake_case or camelCase keys, numbers
 * as numbers or strings ("8000", "8000Hz"), unknown keys and events ignored.
 */
import { randomUUID } from "node:crypto";
import { isStrictBase64 } from "../audio/pcm16.js";
import type {
  ExotelEvent,
  ExotelMediaFormat,
  ExotelParseErrorCode,
  ExotelParseResult,
  ExotelStart,
  MediaEvent,
} from "./messages.js";

type Obj = Record<string, unknown>;

const MAX_CUSTOM_PARAMETERS = 16;
const MAX_PARAM_NAME = 64;
const MAX_PARAM_VALUE = 512;
const PARAM_NAME_RE = /^[A-Za-z0-9_.-]+$/;
const FORBIDDEN_NAMES = new Set(["__proto__", "constructor", "prototype"]);
const DTMF_DIGIT_RE = /^[0-9*#A-Da-d]$/;

function fail(code: ExotelParseErrorCode, detail: string): ExotelParseResult {
  return { ok: false, error: { code, detail } };
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
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

/** Copies string-ish parameters with safe names into a null-prototype record. */
export function sanitizeParameters(raw: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (!isObj(raw)) return out;
  let n = 0;
  for (const key of Object.keys(raw)) {
    if (n >= MAX_CUSTOM_PARAMETERS) break;
    if (key.length > MAX_PARAM_NAME || FORBIDDEN_NAMES.has(key) || !PARAM_NAME_RE.test(key)) continue;
    const value = str(raw[key]);
    if (value === undefined) continue;
    out[key] = value.length > MAX_PARAM_VALUE ? value.slice(0, MAX_PARAM_VALUE) : value;
    n++;
  }
  return out;
}

function parseMediaFormat(raw: unknown): ExotelMediaFormat {
  if (!isObj(raw)) return {};
  const encoding = str(raw.encoding);
  const sampleRate = lenientInt(pick(raw, "sample_rate", "sampleRate"));
  const bitRate = str(pick(raw, "bit_rate", "bitRate"));
  return {
    ...(encoding !== undefined && { encoding }),
    ...(sampleRate !== undefined && sampleRate > 0 && { sampleRate }),
    ...(bitRate !== undefined && { bitRate }),
  };
}

function parseStart(msg: Obj, sequence: number | undefined, topSid: string | undefined): ExotelParseResult {
  const s = msg.start;
  if (!isObj(s)) return fail("missing_field", "start.start");
  const streamSid = str(pick(s, "stream_sid", "streamSid")) ?? topSid;
  if (streamSid === undefined || streamSid === "") return fail("missing_field", "start.stream_sid");
  const start: ExotelStart = {
    streamSid,
    callSid: str(pick(s, "call_sid", "callSid")) ?? "",
    accountSid: str(pick(s, "account_sid", "accountSid")) ?? "",
    from: str(s.from) ?? "",
    to: str(s.to) ?? "",
    customParameters: sanitizeParameters(pick(s, "custom_parameters", "customParameters")),
    mediaFormat: parseMediaFormat(pick(s, "media_format", "mediaFormat")),
  };
  return {
    ok: true,
    event: { event: "start", ...(sequence !== undefined && { sequence }), streamSid, start },
  };
}

const PAYLOAD_KEY = '"payload":"';
/**
 * Takes the payload's place while the rest of a media frame is parsed. Random per process, so no
 * frame can contain it: finding it at `media.payload` proves that is where the payload was cut.
 */
const STAND_IN = `\u0000${randomUUID()}`;
const STAND_IN_JSON = JSON.stringify(STAND_IN).slice(1, -1);
const NOT_JSON: unique symbol = Symbol("not JSON");

/**
 * The media fast path. A media frame is ~97% base64 payload and arrives ten times a second per
 * call; JSON.parse would scan and copy all of it. Instead the payload string is located, checked
 * as strict base64 (which the call needs anyway; the check is remembered, see isStrictBase64), and
 * replaced by a stand-in before parsing. A string token of base64 characters has no escapes and no
 * control characters, so the replacement changes no other token: the reduced text parses exactly
 * when the frame does, to the same object apart from that one string. Anything else (no such key,
 * escapes, non-base64 payload, the key somewhere other than `media`) takes the plain JSON.parse.
 * Returns the parsed frame with the payload put back, NOT_JSON when the frame is not JSON, or
 * undefined when the fast path does not apply.
 */
function parseMediaFast(raw: string): unknown {
  const key = raw.indexOf(PAYLOAD_KEY);
  if (key < 0) return undefined;
  const start = key + PAYLOAD_KEY.length;
  const end = raw.indexOf('"', start);
  if (end <= start) return undefined;
  const payload = raw.slice(start, end);
  if (!isStrictBase64(payload)) return undefined;
  let msg: unknown;
  try {
    msg = JSON.parse(`${raw.slice(0, start)}${STAND_IN_JSON}${raw.slice(end)}`);
  } catch {
    return NOT_JSON;
  }
  if (!isObj(msg) || !isObj(msg.media) || msg.media.payload !== STAND_IN) return undefined;
  msg.media.payload = payload;
  return msg;
}

/** Parses one text frame. `raw` is whatever the socket delivered as text. */
export function parseExotelMessage(raw: string): ExotelParseResult {
  let msg = parseMediaFast(raw);
  if (msg === undefined) {
    try {
      msg = JSON.parse(raw);
    } catch {
      msg = NOT_JSON;
    }
  }
  if (msg === NOT_JSON) return fail("invalid_json", `not JSON (${raw.length} chars)`);
  if (!isObj(msg)) return fail("not_an_object", typeof msg);
  const name = msg.event;
  if (typeof name !== "string" || name === "") return fail("missing_event", "event");
  const sequence = lenientInt(pick(msg, "sequence_number", "sequenceNumber"));
  const streamSid = str(pick(msg, "stream_sid", "streamSid"));
  if (name === "media") {
    const media = msg.media;
    if (!isObj(media)) return fail("missing_field", "media.media");
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
    case "connected":
      event = { event: "connected" };
      break;
    case "start":
      return parseStart(msg, sequence, streamSid);
    case "dtmf": {
      const d = msg.dtmf;
      if (!isObj(d)) return fail("missing_field", "dtmf.dtmf");
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
      event = { event: "mark", ...common, name: markName };
      break;
    }
    case "stop": {
      const s = isObj(msg.stop) ? msg.stop : {};
      const callSid = str(pick(s, "call_sid", "callSid"));
      const accountSid = str(pick(s, "account_sid", "accountSid"));
      const reason = str(s.reason);
      event = {
        event: "stop",
        ...common,
        ...(callSid !== undefined && { callSid }),
        ...(accountSid !== undefined && { accountSid }),
        ...(reason !== undefined && { reason }),
      };
      break;
    }
    default:
      event = { event: "unknown", name: name.length > 64 ? `${name.slice(0, 64)}...` : name };
  }
  return { ok: true, event };
}
