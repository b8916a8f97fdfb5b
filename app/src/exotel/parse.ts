/**
 * Pure parser: one Exotel text frame -> a typed event or a typed error. Never throws.
 * Liberal in what it accepts (docs/protocols/exotel.md): snake_case or camelCase keys, numbers
 * as numbers or strings ("8000", "8000Hz"), unknown keys and events ignored.
 */

import { isObj, NOT_JSON, type Obj, parseWithBase64Field } from "./json-base64.js";
import type {
  ExotelEvent,
  ExotelMediaFormat,
  ExotelParseErrorCode,
  ExotelParseResult,
  ExotelStart,
  MediaEvent,
} from "./messages.js";

const MAX_CUSTOM_PARAMETERS = 16;
const MAX_PARAM_NAME = 64;
const MAX_PARAM_VALUE = 512;
const PARAM_NAME_RE = /^[A-Za-z0-9_.-]+$/;
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
