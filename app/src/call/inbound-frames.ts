/**
 * What both legs do first with a frame from their peer: both protocols are JSON text, so a binary
 * frame is a bad frame; and a call tolerates only so many bad frames before it counts as hostile.
 */
import type WebSocket from "ws";

/** Bad frames tolerated from one peer on one call before the call ends as a protocol error. */
export const MAX_BAD_FRAMES = 200;

/** The frame as text, or null for a binary frame. */
export function frameText(data: WebSocket.RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

export function tooManyBadFrames(count: number, source: string): string | undefined {
  return count > MAX_BAD_FRAMES ? `more than ${MAX_BAD_FRAMES} bad ${source} frames` : undefined;
}
