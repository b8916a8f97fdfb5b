/**
 * Builders for frames we send to Exotel (docs/protocols/exotel.md, "Messages to Exotel").
 * Strict in what we send: snake_case `stream_sid`, exact shapes. Built by string concatenation
 * because they sit on the per-frame path and base64 never needs JSON escaping.
 */

/** JSON-encodes the stream sid once per call; pass the result to the builders below. */
export function encodeStreamSid(streamSid: string): string {
  return JSON.stringify(streamSid);
}

export function mediaFrame(encodedSid: string, payloadBase64: string): string {
  return `{"event":"media","stream_sid":${encodedSid},"media":{"payload":"${payloadBase64}"}}`;
}

export function markFrame(encodedSid: string, name: string): string {
  return `{"event":"mark","stream_sid":${encodedSid},"mark":{"name":${JSON.stringify(name)}}}`;
}

export function clearFrame(encodedSid: string): string {
  return `{"event":"clear","stream_sid":${encodedSid}}`;
}
