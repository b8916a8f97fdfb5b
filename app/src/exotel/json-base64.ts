/**
 * JSON.parse for frames that are almost all one base64 string (Exotel `media`, ten a second per
 * call): JSON.parse would scan and copy every character of it.
 *
 * The base64 string after `"<key>":"` is located, checked strict (which the caller needs anyway;
 * the check is remembered, see isStrictBase64), and replaced by a stand-in before parsing. A string
 * token of base64 characters has no escapes and no control characters, so the replacement changes
 * no other token: the reduced text parses exactly when the frame does, to the same object apart
 * from that one string. The value is put back only if the stand-in came out at `<parent>.<key>`;
 * anything else (no such key, escapes, non-base64, the key elsewhere) takes the plain JSON.parse.
 * Written by hand because no JSON library skips a known string field; property-tested against
 * JSON.parse (test/app/properties/fast-paths.property.test.ts).
 */
import { randomUUID } from "node:crypto";
import { isStrictBase64 } from "../audio/pcm16.js";

/** Random per process, so no frame can contain it: finding it proves where the value was cut. */
const STAND_IN = `\u0000${randomUUID()}`;
const STAND_IN_JSON = JSON.stringify(STAND_IN).slice(1, -1);

/** The frame was not JSON at all. */
export const NOT_JSON: unique symbol = Symbol("not JSON");

export type Obj = Record<string, unknown>;

/** A JSON object (not null, not an array). */
export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses `raw`, skipping the base64 value of `parent.key`. Returns the parsed value, or NOT_JSON.
 * `quotedKey` is `"key":"` exactly as senders write it (no spaces), e.g. `"payload":"`.
 */
export function parseWithBase64Field(raw: string, parent: string, quotedKey: string): unknown {
  const fast = parseFast(raw, parent, quotedKey);
  if (fast !== undefined) return fast;
  try {
    return JSON.parse(raw);
  } catch {
    return NOT_JSON;
  }
}

function parseFast(raw: string, parent: string, quotedKey: string): unknown {
  const at = raw.indexOf(quotedKey);
  if (at < 0) return undefined;
  const start = at + quotedKey.length;
  const end = raw.indexOf('"', start);
  if (end <= start) return undefined;
  const value = raw.slice(start, end);
  if (!isStrictBase64(value)) return undefined;
  let msg: unknown;
  try {
    msg = JSON.parse(`${raw.slice(0, start)}${STAND_IN_JSON}${raw.slice(end)}`);
  } catch {
    return NOT_JSON;
  }
  if (!isObj(msg)) return undefined;
  const holder = msg[parent];
  const key = quotedKey.slice(1, quotedKey.indexOf('"', 1));
  if (!isObj(holder) || holder[key] !== STAND_IN) return undefined;
  holder[key] = value;
  return msg;
}
