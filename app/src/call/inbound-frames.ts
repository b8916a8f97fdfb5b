/**
 * What both legs do first with a frame from their peer: both protocols are JSON text, so a binary
 * frame is a bad frame; and a call tolerates only so many bad frames before it counts as hostile.
 */
import type WebSocket from "ws";

/** Bad frames tolerated from one peer on one call before the call ends as a protocol error. */
export const MAX_BAD_FRAMES = 200;

/** The frame as text, or null for a binary frame. */
function frameText(data: WebSocket.RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

export function tooManyBadFrames(count: number, source: string): string | undefined {
  return count > MAX_BAD_FRAMES ? `more than ${MAX_BAD_FRAMES} bad ${source} frames` : undefined;
}

type ParseResult<E> =
  | { readonly ok: true; readonly event: E }
  | { readonly ok: false; readonly error: { readonly code: string; readonly detail: string } };

export interface InboundHandlers<E> {
  /** False once the leg is disposed: later frames are ignored. */
  live(): boolean;
  parse(text: string): ParseResult<E>;
  event(event: E): void;
  /** A frame that is not text or does not parse; it is skipped. */
  bad(code: string, detail: string): void;
  /** Handling a good frame threw: a bug, reported so the call can end cleanly. */
  failed(err: unknown): void;
}

/** A socket 'message' listener that turns frames into events for one leg. */
export function inboundListener<E>(
  h: InboundHandlers<E>,
): (data: WebSocket.RawData, isBinary: boolean) => void {
  return (data, isBinary) => {
    if (!h.live()) return;
    const text = frameText(data, isBinary);
    if (text === null) {
      h.bad("binary_frame", "binary frame");
      return;
    }
    const parsed = h.parse(text);
    if (!parsed.ok) {
      h.bad(parsed.error.code, parsed.error.detail);
      return;
    }
    try {
      h.event(parsed.event);
    } catch (err) {
      h.failed(err);
    }
  };
}
