/**
 * ElevenLabs webhook signatures. The `ElevenLabs-Signature` header reads `t=<unix seconds>,v0=<hex>`
 * where the hex is HMAC-SHA256, keyed with the webhook secret, over `<t>.<raw request body>`
 * (ElevenLabs docs, "Post-call webhooks", and elevenlabs-js `webhooks.constructEvent`).
 * Written here rather than taken from the SDK: the SDK re-serialises an already parsed body
 * (only correct when the sender's JSON is byte-identical to JSON.stringify's), compares with `!==`
 * and brings a whole API client; verifying the raw bytes in constant time is a dozen lines.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type SignatureRefusal = "missing_signature" | "malformed_signature" | "stale" | "bad_signature";

export type SignatureVerdict =
  | { readonly ok: true; readonly timestamp: number }
  | {
      readonly ok: false;
      readonly reason: SignatureRefusal;
    };

export const SIGNATURE_HEADER = "elevenlabs-signature";

/** The header value ElevenLabs would send for `body` at `timestampS` (tests, local tooling). */
export function signBody(body: Buffer | string, secret: string, timestampS: number): string {
  return `t=${timestampS},v0=${hmacHex(secret, timestampS, body)}`;
}

export function verifySignature(
  rawBody: Buffer,
  header: string | undefined,
  secret: string,
  nowMs: number,
  toleranceS: number,
): SignatureVerdict {
  if (header === undefined || header === "") return { ok: false, reason: "missing_signature" };
  // Bounded: a real header is ~80 characters.
  if (header.length > 1024) return { ok: false, reason: "malformed_signature" };
  let timestamp: string | undefined;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = splitOnce(part.trim());
    if (key === "t") timestamp = value;
    // Several v0 entries may appear while a secret is being rotated; any match is enough.
    else if (key === "v0" && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value.toLowerCase());
  }
  if (timestamp === undefined || !/^[0-9]{1,12}$/.test(timestamp) || candidates.length === 0) {
    return { ok: false, reason: "malformed_signature" };
  }
  const t = Number(timestamp);
  if (Math.abs(nowMs / 1000 - t) > toleranceS) return { ok: false, reason: "stale" };
  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), "hex");
  const matched = candidates.some((c) => timingSafeEqual(Buffer.from(c, "hex"), expected));
  return matched ? { ok: true, timestamp: t } : { ok: false, reason: "bad_signature" };
}

function hmacHex(secret: string, timestamp: number | string, body: Buffer | string): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
}

function splitOnce(part: string): [string, string] {
  const i = part.indexOf("=");
  return i < 0 ? [part, ""] : [part.slice(0, i), part.slice(i + 1)];
}
